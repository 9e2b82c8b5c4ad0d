#!/usr/bin/env bash
# Builds a local Postgres 15 Docker image without any container registry: a Debian
# bookworm rootfs made by debootstrap from the apt mirror this machine already uses
# (read from its apt sources at run time), Debian's postgresql-15 (pg_stat_statements
# preloaded), an entrypoint compatible with the official `postgres` image, then
# `docker import`. Nothing is pulled from a registry.
#
# Usage: scripts/postgres-image.sh [--force] [IMAGE]
#   IMAGE    image to build; default $KIT_POSTGRES_IMAGE, else shared-db-kit/postgres:15
#   --force  rebuild even if IMAGE already exists (otherwise: print that, exit 0)
# Environment:
#   KIT_POSTGRES_IMAGE          default image name
#   KIT_DEBIAN_MIRROR           override the Debian archive URI found in the apt sources
#   KIT_DEBIAN_SECURITY_MIRROR  override the bookworm-security URI ("none" to skip it)
#   KIT_POSTGRES_JIT=1          keep LLVM JIT (+150 MB); by default it is left out, jit = off
#   TMPDIR                      where the temporary rootfs goes (default /var/tmp)
# Needs root (debootstrap, chroot) and a reachable Docker engine.
set -euo pipefail

SUITE=bookworm
PG_MAJOR=15
DEFAULT_IMAGE=shared-db-kit/postgres:15
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENTRYPOINT_SRC="$SCRIPT_DIR/postgres-image/docker-entrypoint.sh"

log() { printf '[postgres-image] %s\n' "$*"; }
die() {
	printf '[postgres-image] error: %s\n' "$*" >&2
	exit 1
}
usage() { sed -n '8,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

force=0
image=""
while [ $# -gt 0 ]; do
	case "$1" in
		-f | --force) force=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		-*) die "unknown option: $1 (see --help)" ;;
		*)
			[ -z "$image" ] || die "only one image name may be given"
			image="$1"
			;;
	esac
	shift
done
image="${image:-${KIT_POSTGRES_IMAGE:-$DEFAULT_IMAGE}}"

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable"

image_exists() { docker image inspect "$image" >/dev/null 2>&1; }
if [ "$force" = 0 ] && image_exists; then
	log "image $image already exists; nothing to do (--force rebuilds it)"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "building the image needs root (debootstrap, chroot); run it with sudo"
[ -r "$ENTRYPOINT_SRC" ] || die "missing $ENTRYPOINT_SRC"

# One build at a time on this machine (parallel CI jobs); re-check once the lock is ours.
lock_file="${TMPDIR:-/tmp}/shared-db-kit-postgres-image.lock"
exec 9>"$lock_file"
if ! flock -n 9; then
	log "another build is running; waiting for it"
	flock 9
fi
if [ "$force" = 0 ] && image_exists; then
	log "image $image was built meanwhile; nothing to do"
	exit 0
fi

started=$SECONDS
work=""
tmp_tag=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$tmp_tag" ]; then
		docker rmi "$tmp_tag" >/dev/null 2>&1 || :
	fi
	if [ -n "$work" ] && [ -d "$work" ]; then
		# Unmount whatever is still mounted in the rootfs (deepest first) before deleting.
		awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
			while read -r m; do umount -l "$m" || :; done
		rm -rf --one-file-system "$work" || :
	fi
	if [ "$rc" != 0 ]; then
		printf '[postgres-image] build FAILED (exit %s)\n' "$rc" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs a step with its output in the build log, shown (tail) only if it fails.
run_logged() {
	local what="$1"
	shift
	log "$what"
	if ! "$@" >>"$work/build.log" 2>&1; then
		printf '[postgres-image] %s failed; end of the log:\n' "$what" >&2
		tail -n 60 "$work/build.log" >&2
		return 1
	fi
}

# --- the apt mirror this machine uses ------------------------------------------------
# Prints "URI SUITE" for every enabled `deb` entry of the apt sources (one-line and deb822).
apt_source_entries() {
	local list="/etc/apt/sources.list" parts="/etc/apt/sources.list.d"
	if command -v apt-config >/dev/null; then
		local SRC_LIST="" SRC_PARTS=""
		eval "$(apt-config shell SRC_LIST Dir::Etc::sourcelist/f SRC_PARTS Dir::Etc::sourceparts/d)"
		list="${SRC_LIST:-$list}"
		parts="${SRC_PARTS:-$parts}"
	fi
	parts="${parts%/}"
	local f
	for f in "$list" "$parts"/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
	done
	for f in "$parts"/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush(   n, m, i, j, U, S) {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
					n = split(uris, U, " "); m = split(suites, S, " ")
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print U[i], S[j]
				}
				types = uris = suites = enabled = last = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ {
				if (last == "types") types = types " " $0
				else if (last == "uris") uris = uris " " $0
				else if (last == "suites") suites = suites " " $0
				next
			}
			{
				key = tolower($0); sub(/:.*/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				last = key
				if (key == "types") types = val
				else if (key == "uris") uris = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = val
			}
			END { flush() }
		' "$f"
	done
}

# The first URI serving SUITE ($1); empty if none.
uri_for_suite() {
	apt_source_entries | awk -v s="$1" '$2 == s { sub(/\/+$/, "", $1); print $1; exit }'
}

mirror="${KIT_DEBIAN_MIRROR:-$(uri_for_suite "$SUITE")}"
if [ -z "$mirror" ]; then
	die "no Debian '$SUITE' archive found in the apt sources (/etc/apt/sources.list,
  /etc/apt/sources.list.d/*.list|*.sources); configure one, or set KIT_DEBIAN_MIRROR=<URI>"
fi
case "$mirror" in
	http://* | https://* | file://*) ;;
	*) die "unsupported mirror URI for debootstrap: $mirror (set KIT_DEBIAN_MIRROR=http(s)://...)" ;;
esac
updates_mirror="$(uri_for_suite "$SUITE-updates")"
security_mirror="${KIT_DEBIAN_SECURITY_MIRROR:-$(uri_for_suite "$SUITE-security")}"
[ "$security_mirror" != none ] || security_mirror=""
log "building $image: Debian $SUITE from $mirror${security_mirror:+ (+ security from $security_mirror)}"

# Same proxy and Release-date policy as the host's apt.
HTTP_PROXY_APT="" CHECK_VALID_UNTIL=""
if command -v apt-config >/dev/null; then
	eval "$(apt-config shell HTTP_PROXY_APT Acquire::http::Proxy CHECK_VALID_UNTIL Acquire::Check-Valid-Until)"
fi
if [ -z "${http_proxy:-}" ] && [ -n "$HTTP_PROXY_APT" ] && [ "$HTTP_PROXY_APT" != DIRECT ]; then
	export http_proxy="$HTTP_PROXY_APT"
fi

# --- tools -------------------------------------------------------------------------------
need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing ${need_pkgs[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/postgres-image.XXXXXX")"
rootfs="$work/rootfs"
: >"$work/build.log"

# --- base system -----------------------------------------------------------------------
bootstrap_args=(--variant=minbase --components=main
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
case "$mirror $security_mirror $updates_mirror" in
	*https://*) bootstrap_args+=(--include=ca-certificates) ;;
esac
run_logged "debootstrap $SUITE (minbase)" debootstrap "${bootstrap_args[@]}" "$SUITE" "$rootfs" "$mirror"

{
	echo "deb $mirror $SUITE main"
	if [ -n "$updates_mirror" ]; then echo "deb $updates_mirror $SUITE-updates main"; fi
	if [ -n "$security_mirror" ]; then echo "deb $security_mirror $SUITE-security main"; fi
} >"$rootfs/etc/apt/sources.list"
# No docs, man pages, translations in this image (copyright files stay).
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-slim-image" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
EOF
if [ "${KIT_POSTGRES_JIT:-0}" != 1 ]; then
	# LLVM JIT is ~150 MB (libLLVM, libz3, bitcode) and only slows down short test queries.
	cat >>"$rootfs/etc/dpkg/dpkg.cfg.d/01-slim-image" <<'EOF'
path-exclude=/usr/lib/*/libLLVM-*
path-exclude=/usr/lib/*/libz3.so*
path-exclude=/usr/lib/postgresql/*/lib/bitcode/*
path-exclude=/usr/lib/postgresql/*/lib/llvmjit*
EOF
fi
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
	>"$rootfs/etc/apt/apt.conf.d/01-no-recommends"
# No service starts in the chroot, and no Debian "main" cluster: the entrypoint runs initdb.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
mkdir -p "$rootfs/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"$rootfs/etc/postgresql-common/createcluster.d/inhibit-main-cluster.conf"
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || :

apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
if [ -n "$CHECK_VALID_UNTIL" ]; then apt_opts+=(-o "Acquire::Check-Valid-Until=$CHECK_VALID_UNTIL"); fi
in_chroot() {
	chroot "$rootfs" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		${http_proxy:+http_proxy="$http_proxy"} ${https_proxy:+https_proxy="$https_proxy"} \
		"$@"
}
mount -t proc proc "$rootfs/proc"
run_logged "apt-get update (in the rootfs)" in_chroot apt-get "${apt_opts[@]}" update
run_logged "apt-get dist-upgrade (security updates)" in_chroot apt-get "${apt_opts[@]}" dist-upgrade
run_logged "apt-get install postgresql-$PG_MAJOR" in_chroot apt-get "${apt_opts[@]}" install \
	"postgresql-$PG_MAJOR" xz-utils
umount "$rootfs/proc"

# --- Postgres defaults and entrypoint ------------------------------------------------------
sample="$rootfs/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
[ -f "$sample" ] || die "missing $sample"
sed -ri \
	-e "s/^#?(listen_addresses)[[:space:]]*=[[:space:]]*'[^']*'/\1 = '*'/" \
	-e "s/^#?(shared_preload_libraries)[[:space:]]*=[[:space:]]*'[^']*'/\1 = 'pg_stat_statements'/" \
	"$sample"
if [ "${KIT_POSTGRES_JIT:-0}" != 1 ]; then
	sed -ri -e 's/^#?(jit)[[:space:]]*=[[:space:]]*(on|off)\b/\1 = off/' "$sample"
	grep -q '^jit = off' "$sample" || die "could not set jit = off in $sample"
fi
grep -q "^listen_addresses = '\*'" "$sample" || die "could not set listen_addresses in $sample"
grep -q "^shared_preload_libraries = 'pg_stat_statements'" "$sample" ||
	die "could not set shared_preload_libraries in $sample"
[ -f "$rootfs/usr/lib/postgresql/$PG_MAJOR/lib/pg_stat_statements.so" ] || die "pg_stat_statements is missing"

install -m 0755 "$ENTRYPOINT_SRC" "$rootfs/usr/local/bin/docker-entrypoint.sh"
install -d -m 0755 "$rootfs/docker-entrypoint-initdb.d"
install -d -m 3777 -o "$(chroot "$rootfs" id -u postgres)" -g "$(chroot "$rootfs" id -g postgres)" \
	"$rootfs/var/run/postgresql"
install -d -m 1777 -o "$(chroot "$rootfs" id -u postgres)" -g "$(chroot "$rootfs" id -g postgres)" \
	"$rootfs/var/lib/postgresql/data"
ln -sf /usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"
echo Etc/UTC >"$rootfs/etc/timezone"

# --- slimming ----------------------------------------------------------------------------
log "removing caches, docs, man pages and locales"
rm -f "$rootfs/usr/sbin/policy-rc.d"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
	"$rootfs"/var/cache/ldconfig/aux-cache "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/log/apt/* \
	"$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
	"$rootfs"/usr/share/lintian "$rootfs"/usr/share/linda "$rootfs"/tmp/* "$rootfs"/var/tmp/* \
	"$rootfs"/debootstrap
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
# Locale sources: keep what `localedef -i en_US -f UTF-8` needs; C.UTF-8 is built into libc.
if [ -d "$rootfs/usr/share/i18n" ]; then
	find "$rootfs/usr/share/i18n/charmaps" -type f ! -name 'UTF-8*' -delete
	find "$rootfs/usr/share/i18n/locales" -type f ! -name C ! -name POSIX ! -name en_US ! -name en_GB \
		! -name 'i18n*' ! -name 'iso14651_t1*' ! -name 'translit_*' -delete
fi
[ -d "$rootfs/usr/lib/locale/C.utf8" ] || die "C.UTF-8 locale is missing from the rootfs"
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/machine-id" 2>/dev/null || :

# --- docker import (+ STOPSIGNAL, which `docker import --change` does not accept) ---------------
pg_version="$(chroot "$rootfs" "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version | awk '{ print $3 }')"
tmp_tag="postgres-image-import:$$-$RANDOM"
old_id="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || :)"
log "docker import (PostgreSQL $pg_version)"
tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
	docker import \
		--change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--change "ENV PGDATA=/var/lib/postgresql/data" \
		--change "ENV LANG=C.UTF-8" \
		--change "ENV PG_MAJOR=$PG_MAJOR" \
		--change "EXPOSE 5432" \
		--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change "LABEL org.opencontainers.image.title=postgres org.opencontainers.image.version=$pg_version org.opencontainers.image.base.name=debian:$SUITE" \
		--message "Debian $SUITE + postgresql-$PG_MAJOR ($pg_version), built by scripts/postgres-image.sh" \
		- "$tmp_tag" >/dev/null
# The classic builder uses the local image: no registry involved, no build context.
export DOCKER_BUILDKIT=0
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$tmp_tag" |
	run_logged "docker build (STOPSIGNAL SIGINT)" docker build -q -t "$image" -
docker rmi "$tmp_tag" >/dev/null
tmp_tag=""
new_id="$(docker image inspect -f '{{.Id}}' "$image")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	docker rmi "$old_id" >/dev/null 2>&1 || log "note: the previous image $old_id is still in use; left in place"
fi

size="$(docker image inspect -f '{{.Size}}' "$image")"
log "built $image (PostgreSQL $pg_version): $(awk -v b="$size" 'BEGIN { printf "%.0f MB", b / 1000 / 1000 }') in $((SECONDS - started))s"
docker image ls "$image"
