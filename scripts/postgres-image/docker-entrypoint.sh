#!/usr/bin/env bash
# Entrypoint of the locally built Postgres image (see scripts/postgres-image.sh).
# It follows the interface of the official `postgres` image:
#   POSTGRES_PASSWORD, POSTGRES_USER (default postgres), POSTGRES_DB (default = user),
#   POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD, PGDATA,
#   the *_FILE variants of the first four, and /docker-entrypoint-initdb.d/*.
# On first start it runs initdb, then a temporary server listening on the unix socket
# only (its log goes to STDOUT) for the init scripts, stops it, and execs the real server
# (its log goes to STDERR). Both print "database system is ready to accept connections",
# which is what the testcontainers Postgres module waits for, on both streams.
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR comes from $VAR, or from the file named by $VAR_FILE.
file_env() {
	local var="$1" file_var="${1}_FILE" def="${2:-}"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var"
		exit 1
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(<"${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

# Called as the postgres user: the init helpers below use psql over the unix socket.
docker_process_sql() {
	local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "${POSTGRES_DB:-}" ]; then
		query_runner+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST='' PGHOSTADDR='' "${query_runner[@]}" "$@"
}

docker_setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${PGDATA:=/var/lib/postgresql/data}"
	export PGDATA
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

docker_create_db_directories() {
	local user
	user="$(id -u)"
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$user" = '0' ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$user" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

docker_verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ 'trust' != "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOE
		exit 1
	fi
	if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOWARN'
			********************************************************************************
			WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
			         anyone with access to the Postgres port to access your database without
			         a password, even if POSTGRES_PASSWORD is set.
			********************************************************************************
		EOWARN
	fi
}

docker_init_database_dir() {
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# eval: POSTGRES_INITDB_ARGS may hold quoted arguments, as with the official image.
	# The password file is a process substitution, so it must live in the same command;
	# initdb refuses an entirely empty file, hence the "\n" (an empty password sets none).
	# shellcheck disable=SC2016
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'
}

# "host all all all <method>" for TCP connections; scram-sha-256 unless the server is
# configured for md5 password encryption.
pg_setup_hba_conf() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	if [ -z "$POSTGRES_HOST_AUTH_METHOD" ]; then
		if [ 'md5' = "$(postgres -C password_encryption "$@")" ]; then
			POSTGRES_HOST_AUTH_METHOD='md5'
		else
			POSTGRES_HOST_AUTH_METHOD='scram-sha-256'
		fi
	fi
	{
		printf '\n'
		if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
			printf '# warning trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >>"$PGDATA/pg_hba.conf"
}

# Temporary server for the init phase: unix socket only; pg_ctl sends its log to STDOUT.
docker_temp_server_start() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" \
		pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

docker_temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" \
		pg_ctl -D "$PGDATA" -m fast -w stop
}

docker_setup_db() {
	local db="$POSTGRES_DB" db_already_exists
	db_already_exists="$(
		POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" --tuples-only <<-'EOSQL'
			SELECT 1 FROM pg_database WHERE datname = :'db' ;
		EOSQL
	)"
	if [ -z "$db_already_exists" ]; then
		POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		printf '\n'
	fi
}

# Runs /docker-entrypoint-initdb.d/* in name order: *.sh (sourced unless executable),
# *.sql, *.sql.gz, *.sql.xz, against POSTGRES_DB as POSTGRES_USER.
docker_process_init_files() {
	printf '\n'
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)
				printf '%s: running %s\n' "$0" "$f"
				docker_process_sql -f "$f"
				printf '\n'
				;;
			*.sql.gz)
				printf '%s: running %s\n' "$0" "$f"
				gunzip -c "$f" | docker_process_sql
				printf '\n'
				;;
			*.sql.xz)
				printf '%s: running %s\n' "$0" "$f"
				xzcat "$f" | docker_process_sql
				printf '\n'
				;;
			*) printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
		printf '\n'
	done
}

# Options that only print something: no initialisation, no user switch needed.
_pg_want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version | -C)
				return 0
				;;
		esac
	done
	return 1
}

_main() {
	# `docker run IMAGE -c fsync=off` means `postgres -c fsync=off`.
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = 'postgres' ] && ! _pg_want_help "$@"; then
		docker_setup_env
		docker_create_db_directories
		if [ "$(id -u)" = '0' ]; then
			# Never run the server as root: re-run this script as postgres.
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			docker_verify_minimum_env
			# Fail early, with a clear message, when the init directory is not readable.
			ls /docker-entrypoint-initdb.d/ >/dev/null

			docker_init_database_dir
			pg_setup_hba_conf "$@"

			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			docker_temp_server_start "$@"
			docker_setup_db
			shopt -s nullglob
			docker_process_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			docker_temp_server_stop
			unset PGPASSWORD

			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		else
			printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
		fi
	fi

	exec "$@"
}

_main "$@"
