#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands on screen are single-quoted: shown as written, run by eval
# The workshop walkthrough (WORKSHOP.md): the legacy pair breaks when an owner changes its
# schema, loudly and silently; the migrated pair takes the same releases unchanged, keeps
# trespassers out, and survives an owner that goes away. Each step prints its title, what
# to notice, every command it runs with its output, and checks what it saw: "✔ ..." or
# "✘ step N: expected ..., saw ..." and exit 1, so a walkthrough that rots fails in CI.
#
# Usage: scripts/walkthrough.sh [--yes] [--step N] [--list]
#   --yes      run without pausing between steps (also when CI=true)
#   --step N   start at step N; the steps before it run first, quietly, to set the scene
#   --list     print the steps and exit
# Environment:
#   DATABASE_URL        admin URL of a Postgres to use: the walkthrough creates and then drops
#                       the databases walkthrough_legacy and walkthrough_migrated (and the
#                       migrated roles, if it created them). Without it, it starts one
#                       disposable container (`kit postgres`, needs Docker) and removes it.
#   KIT_POSTGRES_IMAGE  that container's image; when unset, postgres:17 if it can be had,
#                       else the local image (built on first use by scripts/postgres-image.sh)
#   LEGACY_CUSTOMERS_ADDR, LEGACY_ORDERS_ADDR, MIGRATED_CUSTOMERS_ADDR, MIGRATED_ORDERS_ADDR
#                       where the services listen (127.0.0.1:8001, :8002, :8101, :8102)
#   WALKTHROUGH_OUT     where the impact matrix is written (default target/walkthrough)
# Needs cargo, curl, jq, psql and python3. Everything it starts (services, the container)
# is stopped and removed when it ends, fails, or is interrupted (Ctrl-C).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LEGACY_DB_NAME=walkthrough_legacy
MIGRATED_DB_NAME=walkthrough_migrated
MIGRATED_ROLES="customers_owner customers_svc orders_owner orders_svc"
ROAD_DB_NAME=walkthrough_road
ROAD_ROLES="legacy_customers_svc legacy_orders_svc"

usage() { sed -n '9,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

TITLES=(
	""
	"Start the legacy pair"
	"An order with its customer, a customer with its orders"
	"One login for both services"
	"The customers team ships a release: rename-email"
	"The order view breaks, loudly"
	"A silent break: the orders team stores money in cents"
	"Start the migrated pair"
	"The same releases, on the migrated pair"
	"Any language can consume the API: curl, jq, Python, JSON, XML"
	"Try to cheat: the orders login reads customers' table"
	"Customers goes down: orders fails closed, reads degrade, then recover"
	"Orders goes down: the profile degrades, the delete guard fails closed"
	"The impact matrix"
	"The road: one shared database from state 0 to walls up, a release at each step"
)
LAST=$((${#TITLES[@]} - 1))

YES=0
START=1
[ "${CI:-}" = true ] && YES=1
while [ $# -gt 0 ]; do
	case "$1" in
		-y | --yes) YES=1 ;;
		--step) START="${2:-}"; shift ;;
		--step=*) START="${1#--step=}" ;;
		--list)
			for n in $(seq 1 "$LAST"); do printf '%2d  %s\n' "$n" "${TITLES[$n]}"; done
			exit 0
			;;
		-h | --help) usage; exit 0 ;;
		*) echo "walkthrough: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$START" in
	'' | *[!0-9]*) echo "walkthrough: --step takes a number from 1 to $LAST" >&2; exit 2 ;;
esac
if [ "$START" -lt 1 ] || [ "$START" -gt "$LAST" ]; then
	echo "walkthrough: --step takes a number from 1 to $LAST" >&2
	exit 2
fi

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' CYAN=$'\e[36m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m'
else
	BOLD="" DIM="" CYAN="" GREEN="" RED="" RESET=""
fi
# The binaries' own logs stay plain, on screen and in the log files the steps grep.
export NO_COLOR=1

# ---------------------------------------------------------------------------- presentation

STEP=0
CHECKS=0

# The title of step $1 and what to notice in it (the other arguments, one line each).
begin() {
	STEP=$1
	shift
	printf '\n%s━━━ Step %s/%s · %s ━━━%s\n' "$BOLD" "$STEP" "$LAST" "${TITLES[$STEP]}" "$RESET"
	printf '%sNotice:%s\n' "$BOLD" "$RESET"
	for line in "$@"; do printf '  • %s\n' "$line"; done
}

say() { printf '%s%s%s\n' "$DIM" "$*" "$RESET"; }

# Prints a command, runs it, prints its output (stdout and stderr, indented). The output
# lands in OUT, the exit status in RC: the checks read them.
run() {
	printf '%s$ %s%s\n' "$CYAN" "$1" "$RESET"
	RC=0
	OUT=$(eval "$1" 2>&1) || RC=$?
	OUT=${OUT//$'\r'/}
	if [ -n "$OUT" ]; then printf '%s\n' "$OUT" | sed 's/^/  /'; fi
}

# Shows a few lines of code, found by a pattern at run time so that they never go stale:
# code FILE ERE LINES [LINES_BEFORE]
code() {
	local file=$1 pattern=$2 count=$3 before=${4:-0} at
	at=$(grep -n -m1 -E -- "$pattern" "$file" 2>/dev/null | cut -d: -f1) || true
	[ -n "$at" ] || fail "$file to contain /$pattern/ (code the walkthrough shows)" "no such line"
	at=$((at - before))
	run "sed -n '$at,$((at + count - 1))p' $file"
}

pass() {
	CHECKS=$((CHECKS + 1))
	printf '%s✔ %s%s\n' "$GREEN" "$1" "$RESET"
}

fail() {
	local saw=$2
	[ -n "$saw" ] || saw="nothing"
	if [ "${#saw}" -gt 600 ]; then saw="${saw:0:600}..."; fi
	printf '%s✘ step %s: expected %s, saw: %s%s\n' "$RED" "$STEP" "$1" "$saw" "$RESET" >&2
	exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1 ($2)" "$3"; fi
}

# expect_match WHAT ERE TEXT
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1 (/$2/)" "$3"; fi
}

# expect_no_match WHAT ERE TEXT
expect_no_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then fail "$1 (no /$2/)" "$3"; else pass "$1"; fi
}

# Reading `curl -si` output: the status code, one header, the (one-line JSON) body.
status_of() { printf '%s\n' "$1" | awk 'NR == 1 { print $2; exit }'; }
header_of() {
	printf '%s\n' "$1" | awk -v name="$2" '
		/^$/ { exit }
		index(tolower($0), tolower(name) ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }'
}
body_of() { printf '%s\n' "$1" | awk 'seen { print; exit } /^$/ { seen = 1 }'; }
# A jq filter applied to JSON text; "<not JSON>" when it is not.
json() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || echo "<not JSON>"; }

pause() {
	[ "$YES" = 1 ] && return 0
	[ "$STEP" -lt "$LAST" ] || return 0
	printf '\n%s▶ Enter: step %s · %s   (Ctrl-C stops and cleans up)%s ' \
		"$BOLD" "$((STEP + 1))" "${TITLES[$((STEP + 1))]}" "$RESET"
	read -r _ || YES=1 # no terminal to read from: go on without pausing
}

# ------------------------------------------------------------------------------- processes

# A child started by spawn gets its own process group, so that a Ctrl-C in the terminal
# reaches only this script, and this script stops the whole group when it is done.
spawn() {
	local log=$1
	shift
	set -m
	"$@" >>"$log" 2>&1 </dev/null &
	SPAWNED=$!
	set +m
}

alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$state" in Z*) return 1 ;; esac
}

# Stops a process group: SIGTERM (SIGINT for `kit postgres`, as Ctrl-C would), then SIGKILL
# after `patience` tenths of a second.
stop_group() {
	local pid=$1 signal=${2:-TERM} patience=${3:-100} waited=0
	[ -n "$pid" ] || return 0
	kill -"$signal" -- "-$pid" 2>/dev/null || kill -"$signal" "$pid" 2>/dev/null || true
	while alive "$pid" && [ "$waited" -lt "$patience" ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
	wait "$pid" 2>/dev/null || true
}

# Waits until `url` answers 200, or fails the step with the end of the service's log.
wait_healthy() {
	local name=$1 url=$2 pid=$3 log=$4 tries=0
	until curl -sf -o /dev/null --max-time 1 "$url"; do
		if ! alive "$pid"; then
			fail "$name to answer on $url" "it exited; the end of its log: $(tail -n 5 "$log")"
		fi
		tries=$((tries + 1))
		[ "$tries" -lt 240 ] || fail "$name to answer on $url within 60 s" "$(tail -n 5 "$log")"
		sleep 0.25
	done
	pass "$name answers on $url"
}

# Runs `check` (a command string) every half second until it succeeds or `seconds` pass;
# WAITED is the time it took, in seconds.
poll() {
	local check=$1 seconds=$2 tries=0
	printf '%s$ until %s; do sleep 0.5; done%s\n' "$CYAN" "$check" "$RESET"
	until eval "$check" >/dev/null 2>&1; do
		tries=$((tries + 1))
		[ "$tries" -lt $((seconds * 2)) ] || return 1
		sleep 0.5
	done
	WAITED=$(awk -v t="$tries" 'BEGIN { printf "%.1f", t / 2 }')
	say "  (answered after ${WAITED} s)"
}

# --------------------------------------------------------------------------------- cleanup

WORK=""
PG_PID=""
PG_CONTAINER=""
LEGACY_PID=""
MIGRATED_CUSTOMERS_PID=""
MIGRATED_ORDERS_PID=""
CREATED_DATABASES=0
CREATED_ROLES=""
FINISHED=0

cleanup() {
	local rc=$?
	trap '' INT TERM # a second Ctrl-C must not stop the cleaning up half-way
	trap - EXIT
	if [ "$FINISHED" != 1 ] && [ -n "$PG_PID$LEGACY_PID$MIGRATED_CUSTOMERS_PID$MIGRATED_ORDERS_PID" ]; then
		printf '\n%sStopping and removing everything the walkthrough started...%s\n' "$BOLD" "$RESET"
	fi
	for pid in "$MIGRATED_ORDERS_PID" "$MIGRATED_CUSTOMERS_PID" "$LEGACY_PID"; do
		stop_group "$pid"
	done
	if [ "$CREATED_DATABASES" = 1 ] && [ -z "$PG_PID" ]; then
		# A server of the user's: take back what was put on it. (A container goes whole.)
		psql "$ADMIN_DB" -q -c "DROP DATABASE IF EXISTS $LEGACY_DB_NAME" \
			-c "DROP DATABASE IF EXISTS $MIGRATED_DB_NAME" \
			-c "DROP DATABASE IF EXISTS $ROAD_DB_NAME" >/dev/null 2>&1 ||
			echo "walkthrough: could not drop $LEGACY_DB_NAME / $MIGRATED_DB_NAME / $ROAD_DB_NAME; drop them by hand" >&2
		for role in $CREATED_ROLES; do
			psql "$ADMIN_DB" -q -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 ||
				echo "walkthrough: could not drop role $role; drop it by hand" >&2
		done
	fi
	if [ -n "$PG_PID" ]; then
		# `kit postgres` removes its container on Ctrl-C once it has one; let it finish
		# starting first, or the signal would end it before it can clean up.
		local tries=0
		while alive "$PG_PID" && [ -z "$PG_CONTAINER" ] && [ "$tries" -lt 240 ]; do
			sleep 0.25
			tries=$((tries + 1))
			PG_CONTAINER=$(container_of "$WORK/postgres.log")
		done
		stop_group "$PG_PID" INT 300
		if [ -n "$PG_CONTAINER" ] && [ -n "$(docker ps -aq --filter "id=$PG_CONTAINER" 2>/dev/null)" ]; then
			docker rm -f "$PG_CONTAINER" >/dev/null 2>&1 || true
			if [ -n "$(docker ps -aq --filter "id=$PG_CONTAINER" 2>/dev/null)" ]; then
				echo "walkthrough: cannot remove Postgres container $PG_CONTAINER; docker rm -f it" >&2
				[ "$rc" != 0 ] || rc=1
			fi
		fi
	fi
	if [ -n "$WORK" ]; then
		case "$rc" in
			0 | 130 | 143) rm -rf "$WORK" ;;
			*) echo "walkthrough: logs kept in $WORK" >&2 ;;
		esac
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

container_of() { sed -n 's/.*container \([0-9a-f]\{12\}\) .*/\1/p' "$1" 2>/dev/null | head -n 1; }

# ---------------------------------------------------------------------------------- set-up

# url_with_database URL NAME: the same server and login, another database.
url_with_database() {
	local url=$1 query=""
	case "$url" in *\?*) query="?${url#*\?}" url=${url%%\?*} ;; esac
	local scheme=${url%%://*} rest=${url#*://}
	printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$2" "$query"
}

# url_with_login URL USER PASSWORD: the same server and database, another login.
url_with_login() {
	local scheme=${1%%://*} rest=${1#*://} password
	case "${rest%%/*}" in *@*) rest=${rest#*@} ;; esac
	password=$(jq -rn --arg p "$3" '$p | @uri')
	printf '%s://%s:%s@%s' "$scheme" "$2" "$password" "$rest"
}

missing=""
for tool in cargo curl jq psql python3; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "walkthrough: missing:$missing (Debian/Ubuntu: apt-get install curl jq postgresql-client python3; macOS: brew install jq libpq)" >&2
	exit 1
fi
if [ -z "${DATABASE_URL:-}" ]; then
	if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
		echo "walkthrough: needs Docker for a disposable Postgres, or DATABASE_URL=<admin URL of a Postgres you run>" >&2
		exit 1
	fi
fi

export LEGACY_CUSTOMERS_ADDR="${LEGACY_CUSTOMERS_ADDR:-127.0.0.1:8001}"
export LEGACY_ORDERS_ADDR="${LEGACY_ORDERS_ADDR:-127.0.0.1:8002}"
export MIGRATED_CUSTOMERS_ADDR="${MIGRATED_CUSTOMERS_ADDR:-127.0.0.1:8101}"
export MIGRATED_ORDERS_ADDR="${MIGRATED_ORDERS_ADDR:-127.0.0.1:8102}"
LEGACY_CUSTOMERS="http://$LEGACY_CUSTOMERS_ADDR"
LEGACY_ORDERS="http://$LEGACY_ORDERS_ADDR"
MIGRATED_CUSTOMERS="http://$MIGRATED_CUSTOMERS_ADDR"
MIGRATED_ORDERS="http://$MIGRATED_ORDERS_ADDR"
for addr in "$LEGACY_CUSTOMERS_ADDR" "$LEGACY_ORDERS_ADDR" "$MIGRATED_CUSTOMERS_ADDR" "$MIGRATED_ORDERS_ADDR"; do
	if curl -s -o /dev/null --max-time 1 "http://$addr/health"; then
		echo "walkthrough: something already listens on $addr (a walkthrough or pair still running?); stop it, or set the *_ADDR variables (see --help)" >&2
		exit 1
	fi
done
# The services are on this machine: never go through a proxy to reach them.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export PSQLRC=/dev/null PGCONNECT_TIMEOUT=10
# The commands on screen name the binaries as an attendee would: legacy, migrated, kit.
export PATH="$ROOT/target/debug:$PATH"

printf '%sshared-db-kit workshop walkthrough%s: %s steps%s\n' "$BOLD" "$RESET" "$LAST" \
	"$([ "$START" -gt 1 ] && echo ", starting at step $START")"
say "Building the binaries once (cargo build --bins), so that every step runs at once..."
cargo build --bins --quiet

WORK=$(mktemp -d "${TMPDIR:-/tmp}/walkthrough.XXXXXX")
if [ -n "${DATABASE_URL:-}" ]; then
	ADMIN_DB=$DATABASE_URL
	say "Postgres: the one at DATABASE_URL (databases $LEGACY_DB_NAME and $MIGRATED_DB_NAME come and go)"
else
	say "Postgres: a disposable container (kit postgres), removed at the end"
	spawn "$WORK/postgres.log" kit postgres
	PG_PID=$SPAWNED
	tries=0
	until grep -q '^export DATABASE_URL=' "$WORK/postgres.log"; do
		alive "$PG_PID" || { cat "$WORK/postgres.log" >&2; echo "walkthrough: kit postgres failed" >&2; exit 1; }
		tries=$((tries + 1))
		[ "$tries" -lt 480 ] || { echo "walkthrough: no Postgres after 120 s" >&2; exit 1; }
		sleep 0.25
	done
	ADMIN_DB=$(sed -n 's/^export DATABASE_URL=//p' "$WORK/postgres.log" | head -n 1)
	PG_CONTAINER=$(container_of "$WORK/postgres.log")
fi
LEGACY_DB=$(url_with_database "$ADMIN_DB" "$LEGACY_DB_NAME")
MIGRATED_DB=$(url_with_database "$ADMIN_DB" "$MIGRATED_DB_NAME")
ROAD_DB=$(url_with_database "$ADMIN_DB" "$ROAD_DB_NAME")
ORDERS_SVC_DB=$(url_with_login "$MIGRATED_DB" orders_svc "${MIGRATED_ORDERS_DB_PASSWORD:-orders-demo}")

existing_roles=$(psql "$ADMIN_DB" -tAq -c "SELECT string_agg(rolname, ' ') FROM pg_roles")
for role in $MIGRATED_ROLES $ROAD_ROLES; do
	case " $existing_roles " in *" $role "*) ;; *) CREATED_ROLES="$CREATED_ROLES $role" ;; esac
done
CREATED_DATABASES=1
psql "$ADMIN_DB" -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $LEGACY_DB_NAME" -c "DROP DATABASE IF EXISTS $MIGRATED_DB_NAME" \
	-c "DROP DATABASE IF EXISTS $ROAD_DB_NAME" -c "CREATE DATABASE $LEGACY_DB_NAME" \
	-c "CREATE DATABASE $MIGRATED_DB_NAME" -c "CREATE DATABASE $ROAD_DB_NAME" >/dev/null

cat >"$WORK/env.sh" <<EOF
# The walkthrough's names, for a second terminal: source $WORK/env.sh
export PATH="$ROOT/target/debug:\$PATH" PSQLRC=/dev/null
export LEGACY_CUSTOMERS=$LEGACY_CUSTOMERS LEGACY_ORDERS=$LEGACY_ORDERS
export MIGRATED_CUSTOMERS=$MIGRATED_CUSTOMERS MIGRATED_ORDERS=$MIGRATED_ORDERS
export ADMIN_DB='$ADMIN_DB' LEGACY_DB='$LEGACY_DB' MIGRATED_DB='$MIGRATED_DB' ROAD_DB='$ROAD_DB'
export ORDERS_SVC_DB='$ORDERS_SVC_DB' WORK='$WORK'
EOF
say "To try the commands yourself in another terminal: source $WORK/env.sh"

# ----------------------------------------------------------------------------------- steps

step_1() {
	begin 1 \
		"One process serves both services; both connect with the same database login." \
		"It migrates the shared schema and seeds 120 customers and 1,200 orders."
	printf '%s$ legacy up --database-url "$LEGACY_DB" >> "$WORK/legacy.log" 2>&1 &%s\n' "$CYAN" "$RESET"
	spawn "$WORK/legacy.log" legacy up --database-url "$LEGACY_DB"
	LEGACY_PID=$SPAWNED
	wait_healthy "legacy customers" "$LEGACY_CUSTOMERS/health" "$LEGACY_PID" "$WORK/legacy.log"
	wait_healthy "legacy orders" "$LEGACY_ORDERS/health" "$LEGACY_PID" "$WORK/legacy.log"
	run 'sed -n "/^Legacy pair is up/,/^  orders/p" "$WORK/legacy.log"'
	expect_match "the pair says both services share one login" "same database user" "$OUT"
}

step_2() {
	begin 2 \
		"The order comes with its customer's name and email: orders read them from customers' table." \
		"The profile's open_order_count and lifetime_value come from orders' table." \
		"The code: a plain SQL join into the other team's table."
	run 'curl -s "$LEGACY_ORDERS/orders/1" | jq .'
	expect_match "order 1 carries its customer's email" '"email": ".+@' "$OUT"
	run 'curl -s "$LEGACY_CUSTOMERS/customers/7" | jq .'
	expect_match "customer 7's profile carries a lifetime value" '"lifetime_value": "[0-9.]+"' "$OUT"
	code legacy/src/orders/db.rs '^fn order_view' 12 3
	expect_match "the order view joins customers' table" 'JOIN \{customers\}' "$OUT"
	expect_match "... which is customers' own table, unless the road's contract is in use" 'pick\("customers", "customers_api' "$OUT"
}

step_3() {
	begin 3 \
		"pg_stat_activity: both services connected with one and the same user name." \
		"With that login, anything goes: here, reading customers' table as the orders service could."
	# A pool closes idle connections after a while (a long pause on stage): use both now.
	curl -s -o /dev/null "$LEGACY_CUSTOMERS/health" && curl -s -o /dev/null "$LEGACY_ORDERS/health"
	run "psql \"\$LEGACY_DB\" -c \"SELECT usename AS login, string_agg(DISTINCT application_name, ', ') AS services FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('legacy-customers', 'legacy-orders') GROUP BY usename\""
	expect_match "both services use one login" 'legacy-customers, legacy-orders' "$OUT"
	expect_match "... and only one" '\(1 row\)' "$OUT"
	run 'psql "$LEGACY_DB" -c "SELECT current_user, id, name, email FROM customers WHERE id = 8"'
	expect_eq "the shared login reads customers' table" "0" "$RC"
	expect_match "... and gets the customer" '\(1 row\)' "$OUT"
}

step_4() {
	begin 4 \
		"The catalogue: seven ordinary owner-side releases, each with what it will do to legacy." \
		"The customers team renames a column of its own table, and ships the matching code with it." \
		"Its own service keeps working: it follows its release from the next request."
	run 'legacy scenario list'
	expect_match "the catalogue lists rename-email as loud" 'rename-email +customers +broken loudly' "$OUT"
	run 'cat migrations/scenarios/rename-email/legacy.sql'
	run 'legacy scenario apply rename-email --database-url "$LEGACY_DB"'
	expect_match "the release is shipped" '^Released rename-email' "$OUT"
	run 'curl -s "$LEGACY_CUSTOMERS/customers/8" | jq "{id, name, email}"'
	expect_match "the customers service still shows the email" '"email": ".+@' "$OUT"
}

step_5() {
	begin 5 \
		"The orders team changed nothing, and its order view now fails: 500, a problem+json." \
		"The response leaks nothing; the log line says why: sqlstate 42703, undefined column." \
		"The x-request-id we sent finds that line in the log."
	run 'curl -si -H "x-request-id: walkthrough-step-5" "$LEGACY_ORDERS/orders/1"'
	expect_eq "legacy orders answers 500" "500" "$(status_of "$OUT")"
	expect_eq "... as problem+json" "application/problem+json" "$(header_of "$OUT" content-type)"
	expect_no_match "... without leaking the SQL error" 'email|column|42703' "$(body_of "$OUT")"
	run 'grep "walkthrough-step-5" "$WORK/legacy.log" | grep sqlstate'
	expect_match "the log line says sqlstate 42703" 'sqlstate="42703"' "$OUT"
}

step_6() {
	local before after ratio
	begin 6 \
		"The orders team moves totals to integer cents. Nothing fails: every answer is 200." \
		"The customers service sums orders' column as it always did: the lifetime value is ×100." \
		"The code: customers' copy of orders' knowledge (which statuses are open, which money counts)."
	run 'curl -s "$LEGACY_CUSTOMERS/customers/7" | jq "{id, open_order_count, lifetime_value}"'
	before=$(json "$OUT" .lifetime_value)
	expect_match "customer 7 has a lifetime value" '^[0-9]+(\.[0-9]+)?$' "$before"
	run 'legacy scenario apply money-in-cents --database-url "$LEGACY_DB"'
	expect_match "the release is shipped" '^Released money-in-cents' "$OUT"
	run 'curl -si "$LEGACY_CUSTOMERS/customers/7"'
	expect_eq "legacy customers still answers 200" "200" "$(status_of "$OUT")"
	after=$(json "$(body_of "$OUT")" .lifetime_value)
	ratio=$(python3 -c 'import sys; from decimal import Decimal as D; a, b = map(D, sys.argv[1:]); print(f"{(b / a).normalize():f}" if a else "n/a")' "$before" "$after" 2>/dev/null || echo "n/a")
	printf '%slifetime_value of customer 7: %s → %s (×%s)%s\n' "$BOLD" "$before" "$after" "$ratio" "$RESET"
	expect_eq "the lifetime value is silently ×100" "100" "$ratio"
	code legacy/src/customers/db.rs 'AS lifetime_value' 4 2
	expect_match "customers sums orders' total itself" 'sum\(total\)' "$OUT"
}

step_7() {
	begin 7 \
		"Two processes now: each service owns its schema and logs in as its own role." \
		"orders knows customers only by its URL (--customers-url), and the other way round." \
		"pg_stat_activity: two logins, customers_svc and orders_svc."
	run 'migrated migrate --database-url "$MIGRATED_DB"'
	expect_match "both schemas migrate" 'up to date' "$OUT"
	run 'migrated seed --database-url "$MIGRATED_DB"'
	expect_match "the same data is seeded" 'Seed data in place' "$OUT"
	start_migrated_customers
	start_migrated_orders
	wait_healthy "migrated customers" "$MIGRATED_CUSTOMERS/health" "$MIGRATED_CUSTOMERS_PID" "$WORK/migrated-customers.log"
	wait_healthy "migrated orders" "$MIGRATED_ORDERS/health" "$MIGRATED_ORDERS_PID" "$WORK/migrated-orders.log"
	run "psql \"\$MIGRATED_DB\" -c \"SELECT usename AS login, string_agg(DISTINCT application_name, ', ') AS services FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('migrated-customers', 'migrated-orders') GROUP BY usename ORDER BY 1\""
	expect_match "customers logs in as customers_svc" 'customers_svc +\| +migrated-customers' "$OUT"
	expect_match "orders logs in as orders_svc" 'orders_svc +\| +migrated-orders' "$OUT"
}

start_migrated_customers() {
	printf '%s$ migrated customers --database-url "$MIGRATED_DB" --orders-url "$MIGRATED_ORDERS" >> "$WORK/migrated-customers.log" 2>&1 &%s\n' "$CYAN" "$RESET"
	spawn "$WORK/migrated-customers.log" migrated customers --database-url "$MIGRATED_DB" --orders-url "$MIGRATED_ORDERS"
	MIGRATED_CUSTOMERS_PID=$SPAWNED
}

start_migrated_orders() {
	printf '%s$ migrated orders --database-url "$MIGRATED_DB" --customers-url "$MIGRATED_CUSTOMERS" >> "$WORK/migrated-orders.log" 2>&1 &%s\n' "$CYAN" "$RESET"
	spawn "$WORK/migrated-orders.log" migrated orders --database-url "$MIGRATED_DB" --customers-url "$MIGRATED_CUSTOMERS"
	MIGRATED_ORDERS_PID=$SPAWNED
}

step_8() {
	begin 8 \
		"The same two releases, each shipped by its owner's role into its owner's schema." \
		"The tables really changed (information_schema), and what the consumers get is identical, byte for byte." \
		"The code: the owner's shape view follows its release; the consumer reads only the fields it needs."
	run 'curl -s "$MIGRATED_ORDERS/v1/orders/1" | jq -S . > "$WORK/order-before.json"'
	run 'curl -s "$MIGRATED_CUSTOMERS/v1/customers/7/profile" | jq -S . > "$WORK/profile-before.json"'
	run 'migrated scenario apply rename-email --database-url "$MIGRATED_DB"'
	expect_match "rename-email is shipped as customers_owner" '^Released rename-email .*as customers_owner' "$OUT"
	run 'migrated scenario apply money-in-cents --database-url "$MIGRATED_DB"'
	expect_match "money-in-cents is shipped as orders_owner" '^Released money-in-cents .*as orders_owner' "$OUT"
	run "psql \"\$MIGRATED_DB\" -c \"SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE column_name IN ('email', 'email_address', 'total') AND table_schema IN ('customers', 'orders') ORDER BY 1\""
	expect_match "customers.customers has email_address now" 'email_address' "$OUT"
	expect_match "orders.orders.total is an integer now" 'total +\| +bigint' "$OUT"
	run 'curl -s "$MIGRATED_ORDERS/v1/orders/1" | jq -S . > "$WORK/order-after.json"'
	run 'curl -s "$MIGRATED_CUSTOMERS/v1/customers/7/profile" | jq -S . > "$WORK/profile-after.json"'
	run 'jq -c "{id, total, customer}" "$WORK/order-after.json"; jq -c "{id, order_stats}" "$WORK/profile-after.json"'
	expect_match "the order still carries its customer's email" '"email":".+@' "$OUT"
	run 'diff -u "$WORK/order-before.json" "$WORK/order-after.json" && diff -u "$WORK/profile-before.json" "$WORK/profile-after.json" && echo "identical"'
	expect_eq "the consumers' responses are identical before and after" "identical" "$OUT"
	code migrations/scenarios/rename-email/migrated-shape.sql '^CREATE VIEW customers_shape.customers' 3 1
	expect_match "the owner's shape view follows its release" 'email_address AS email' "$OUT"
	code migrated/orders/src/customers_client.rs '^pub struct CustomerRef' 8 2
	expect_match "the consumer keeps its own, tolerant type" 'Deserialize' "$OUT"
}

step_9() {
	begin 9 \
		"curl and jq, then a Python script with nothing but the standard library: no Rust, no generated client." \
		"The contract is an OpenAPI 3.1 document; the same order comes as JSON or XML (Accept)." \
		"The Python client follows links, retries a POST safely with an Idempotency-Key, reads problem+json."
	run 'curl -s "$MIGRATED_ORDERS/openapi.json" | jq -c "{openapi, title: .info.title, paths: (.paths | keys)}"'
	expect_match "orders publishes an OpenAPI 3.1 document" '"openapi":"3\.1' "$OUT"
	run 'curl -s "$MIGRATED_ORDERS/v1/orders/1" | jq -c "{id, status, total, customer: .customer.name}"'
	expect_match "JSON with curl and jq" '"customer":"[^"]+"' "$OUT"
	run 'curl -s -H "accept: application/xml" "$MIGRATED_ORDERS/v1/orders/1"'
	expect_match "the same order as XML" '<total>[0-9.]+</total>' "$OUT"
	run 'python3 scripts/api_client.py --customers "$MIGRATED_CUSTOMERS" --orders "$MIGRATED_ORDERS"'
	expect_eq "the Python client succeeds" "0" "$RC"
	expect_match "... in JSON and in XML" 'order 1 as XML' "$OUT"
}

step_10() {
	begin 10 \
		"As orders_svc (the orders service's own login), its own schema is fine." \
		"customers' table is not: 42501, permission denied. The wall is Postgres, not a convention." \
		"The code: the grants each owner's bootstrap writes."
	run 'psql "$ORDERS_SVC_DB" -c "SELECT current_user, count(*) AS orders FROM orders.orders"'
	expect_match "orders_svc reads its own schema" 'orders_svc' "$OUT"
	run 'psql "$ORDERS_SVC_DB" -v VERBOSITY=verbose -c "SELECT * FROM customers.customers LIMIT 1"'
	expect_match "orders_svc is refused customers' table: 42501" '42501: permission denied' "$OUT"
	run 'psql "$ORDERS_SVC_DB" -v VERBOSITY=verbose -c "SET ROLE customers_owner"'
	expect_match "... and cannot become its owner either" 'permission denied' "$OUT"
	code chassis/src/ownership.rs 'CREATE SCHEMA IF NOT EXISTS' 6
	expect_match "each schema is closed to PUBLIC" 'REVOKE ALL ON SCHEMA' "$OUT"
}

step_11() {
	begin 11 \
		"A new order needs customers to vouch for its customer. Customers is down: it fails closed." \
		"Fast and clear: 503, Retry-After, problem+json, nothing written; the log says 3 attempts." \
		"Reading an order degrades instead: 200, customer null, degraded, a Warning header." \
		"After 5 failures the circuit breaker opens: no more waiting on a dead owner." \
		"Customers returns: within 10 s one probe goes through, the breaker closes, orders recovers."
	run 'psql "$ORDERS_SVC_DB" -tA -c "SELECT count(*) FROM orders.orders"'
	local count_before=$OUT
	printf '%s$ kill -TERM %s   # the migrated customers service%s\n' "$CYAN" "$MIGRATED_CUSTOMERS_PID" "$RESET"
	stop_group "$MIGRATED_CUSTOMERS_PID"
	MIGRATED_CUSTOMERS_PID=""
	run "curl -si -X POST \"\$MIGRATED_ORDERS/v1/orders\" -H 'content-type: application/json' -H 'x-request-id: walkthrough-step-11' -d '{\"customer_id\": 1, \"total\": \"42.50\"}'"
	expect_eq "a new order fails closed: 503" "503" "$(status_of "$OUT")"
	expect_match "... with Retry-After" '^[0-9]+$' "$(header_of "$OUT" retry-after)"
	expect_eq "... as problem+json" "application/problem+json" "$(header_of "$OUT" content-type)"
	expect_eq "... of type dependency-unavailable" "/problems/dependency-unavailable" "$(json "$(body_of "$OUT")" .type)"
	run 'psql "$ORDERS_SVC_DB" -tA -c "SELECT count(*) FROM orders.orders"'
	expect_eq "nothing was written" "$count_before" "$OUT"
	run 'grep "walkthrough-step-11" "$WORK/migrated-orders.log" | grep -E "WARN|ERROR" | tail -n 2'
	run 'curl -si "$MIGRATED_ORDERS/v1/orders/1"'
	expect_eq "reading an order still answers 200" "200" "$(status_of "$OUT")"
	expect_match "... with a Warning header" 'unavailable' "$(header_of "$OUT" warning)"
	expect_eq "... customer null, marked degraded" 'null ["customer"]' "$(json "$(body_of "$OUT")" '"\(.customer) \(.degraded | tojson)"')"
	start_migrated_customers
	wait_healthy "migrated customers" "$MIGRATED_CUSTOMERS/health" "$MIGRATED_CUSTOMERS_PID" "$WORK/migrated-customers.log"
	poll 'curl -s "$MIGRATED_ORDERS/v1/orders/1" | jq -e ".customer != null"' 30 ||
		fail "orders to see customers again within 30 s" "$(curl -s "$MIGRATED_ORDERS/v1/orders/1")"
	pass "orders recovered by itself"
	run 'grep "circuit breaker state changed" "$WORK/migrated-orders.log" | tail -n 3'
	expect_match "the breaker had opened and closed again" 'to="closed"' "$OUT"
	run "curl -s -o /dev/null -w '%{http_code}\n' -X POST \"\$MIGRATED_ORDERS/v1/orders\" -H 'content-type: application/json' -d '{\"customer_id\": 1, \"total\": \"42.50\"}'"
	expect_eq "a new order is accepted again: 201" "201" "$OUT"
}

step_12() {
	begin 12 \
		"The profile degrades without order figures: 200, order_stats null, degraded, a Warning header." \
		"Deleting a customer needs orders to say it has no open orders: it fails closed, nothing deleted." \
		"Degrade or fail closed is a choice made per operation, in the consumer's code." \
		"Orders returns; customers' own breaker to orders opened too, so it recovers within 10 s."
	printf '%s$ kill -TERM %s   # the migrated orders service%s\n' "$CYAN" "$MIGRATED_ORDERS_PID" "$RESET"
	stop_group "$MIGRATED_ORDERS_PID"
	MIGRATED_ORDERS_PID=""
	run 'curl -si "$MIGRATED_CUSTOMERS/v1/customers/7/profile"'
	expect_eq "the profile still answers 200" "200" "$(status_of "$OUT")"
	expect_match "... with a Warning header" 'unavailable' "$(header_of "$OUT" warning)"
	expect_eq "... order_stats null, marked degraded" 'null ["order_stats"]' "$(json "$(body_of "$OUT")" '"\(.order_stats) \(.degraded | tojson)"')"
	run 'curl -si -X DELETE "$MIGRATED_CUSTOMERS/v1/customers/2"'
	expect_eq "deleting a customer fails closed: 503" "503" "$(status_of "$OUT")"
	code migrated/customers/src/api/reads.rs 'profile served without order figures' 10 1
	expect_match "the profile's degraded branch" 'order_stats: None' "$OUT"
	start_migrated_orders
	wait_healthy "migrated orders" "$MIGRATED_ORDERS/health" "$MIGRATED_ORDERS_PID" "$WORK/migrated-orders.log"
	poll 'curl -s "$MIGRATED_CUSTOMERS/v1/customers/7/profile" | jq -e ".order_stats != null"' 30 ||
		fail "the profile to have its order figures again within 30 s" "$(curl -s "$MIGRATED_CUSTOMERS/v1/customers/7/profile")"
	pass "the profile recovered by itself"
	run 'curl -s "$MIGRATED_CUSTOMERS/v1/customers/2" | jq -c "{id, name, status}"'
	expect_match "customer 2 was not deleted" '"id":2' "$OUT"
}

step_13() {
	local out=${WALKTHROUGH_OUT:-target/walkthrough}
	begin 13 \
		"Every scenario of the catalogue, shipped to both pairs on fresh databases, each observed from real runs." \
		"legacy: broken loudly or broken silently; migrated: unaffected, every time." \
		"The command fails if what it observed contradicts what a scenario says."
	mkdir -p "$out"
	run "kit matrix --database-url \"\$ADMIN_DB\" --markdown $out/impact-matrix.md --html $out/impact-matrix.html"
	expect_eq "kit matrix succeeds (no contradiction)" "0" "$RC"
	expect_match "the matrix shows loud breaks" 'broken loudly' "$OUT"
	expect_match "... and silent ones" 'broken silently' "$OUT"
	expect_match "... and the migrated pair unaffected" 'unaffected' "$OUT"
	expect_match "... and what the consumers got while each release shipped" 'while releases shipped' "$OUT"
	local missing="" id
	for id in $(legacy scenario list | awk 'NR > 1 { print $1 }'); do
		printf '%s\n' "$OUT" | grep -qF -- "$id" || missing="$missing $id"
	done
	expect_eq "every scenario of the catalogue is in the matrix" "" "$missing"
	if [ ! -s "$out/impact-matrix.md" ] || [ ! -s "$out/impact-matrix.html" ]; then
		fail "$out/impact-matrix.md and .html to be written" "$(ls -l "$out")"
	fi
	pass "the matrix is in $out/impact-matrix.md and $out/impact-matrix.html"
}

step_14() {
	local road='--manifest kit/manifests/legacy-road.toml --database-url "$ROAD_DB"'
	begin 14 \
		"kit road moves one shared database through numbered states, one transaction a step; status reads the state from the catalogue." \
		"At each state the owner ships a release. At 2 and 3 the contract pins the columns it reads: a drop or a retype is refused." \
		"At 4 each owner's table is in its own schema, the contracts are gone, and kit walls verify holds every wall."
	export LEGACY_CUSTOMERS_DB_PASSWORD=${LEGACY_CUSTOMERS_DB_PASSWORD:-road-customers-demo}
	export LEGACY_ORDERS_DB_PASSWORD=${LEGACY_ORDERS_DB_PASSWORD:-road-orders-demo}
	run 'legacy --database-url "$ROAD_DB" migrate && legacy --database-url "$ROAD_DB" seed'
	expect_eq "a fresh legacy database" "0" "$RC"
	run "kit road status $road"
	expect_match "it starts at state 0" 'state 0 ' "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply uuid-ids'
	expect_match "state 0: uuid-ids is refused, the orders table's foreign key holds the customers key" 'other objects depend on it' "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply soft-delete'
	expect_eq "state 0: the customers team ships soft-delete" "0" "$RC"
	run "kit road apply $road --to 1"
	expect_match "a login per service" 'state 0 → state 1' "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply status-vocabulary'
	expect_eq "state 1: the orders team ships status-vocabulary" "0" "$RC"
	run "kit road apply $road --to 2"
	expect_match "the contracts are published" 'state 1 → state 2' "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply split-name'
	expect_match "state 2: split-name is refused, the contract's view reads the column" 'depend on it' "$OUT"
	run "kit road apply $road --to 3"
	run "kit road status $road"
	expect_match "state 3: the consumers call the API; their contract grants are gone" 'state 3 ' "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply money-in-cents'
	expect_match "state 3: money-in-cents is refused, the contract kept for the way back reads total" 'used by a view' "$OUT"
	run "kit road apply $road --to 4"
	expect_match "walls up" 'state 3 → state 4' "$OUT"
	run 'psql "$ROAD_DB" -c "\dt customers.*" -c "\dt orders.*"'
	expect_match "each table is in its owner's schema" 'customers +\| customers +\| table' "$OUT"
	run 'psql "$ROAD_DB" -Atc "SELECT count(*) FROM pg_constraint WHERE confrelid = '"'"'customers.customers'"'"'::regclass"'
	expect_eq "no foreign key of the orders team holds the customers key any more" "0" "$OUT"
	run 'legacy --database-url "$ROAD_DB" scenario apply split-name'
	expect_eq "state 4: split-name ships, nothing of the other team stands in its way" "0" "$RC"
	run "kit walls verify $road"
	expect_eq "kit walls verify: every wall holds" "0" "$RC"
}

for n in $(seq 1 "$LAST"); do
	if [ "$n" -lt "$START" ]; then
		STEP=$n
		say "(step $n, quietly: ${TITLES[$n]})"
		"step_$n" >>"$WORK/quiet-steps.log"
	else
		"step_$n"
		pause
	fi
done

FINISHED=1
printf '\n%s✔ The walkthrough ran %s steps; %s checks passed in %s s.%s\n' \
	"$GREEN$BOLD" "$((LAST - START + 1))" "$CHECKS" "$SECONDS" "$RESET"
