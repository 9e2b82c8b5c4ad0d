#!/usr/bin/env bash
# Builds a local PostgreSQL 17 Docker image without any container registry: a Debian 13
# "trixie" rootfs made by debootstrap, Debian's postgresql-17 (pg_stat_statements preloaded,
# JIT left out), an entrypoint compatible with the official `postgres` image
# (scripts/postgres-image/docker-entrypoint.sh), then `docker import`. Packages come from the
# Debian mirror this machine's apt already uses (read from its apt sources at run time; any
# Debian mirror serves trixie, even on a bookworm host). Nothing is pulled from a registry.
#
# Usage: scripts/postgres-image.sh [--force] [IMAGE]
#   IMAGE    image to build; default $KIT_POSTGRES_IMAGE, else shared-db-kit/postgres:17
#   --force  rebuild even if IMAGE already exists (otherwise: say so and exit 0 at once)
# Environment:
#   KIT_POSTGRES_IMAGE          default image name
#   KIT_DEBIAN_MIRROR           Debian archive URI (default: from the apt sources, else
#                               http://deb.debian.org/debian)
#   KIT_DEBIAN_SECURITY_MIRROR  URI of trixie-security ("none" to skip it)
#   KIT_POSTGRES_JIT=1          keep LLVM JIT (+~130 MB); by default it is left out, jit = off
#   TMPDIR                      where the temporary rootfs goes (default /var/tmp)
# Needs root (debootstrap, chroot, mount), a reachable Docker engine and debootstrap (installed
# with apt-get when missing). Prints one line per stage with the seconds elapsed; exits 0 only
# when the image exists and starts. A build takes a few minutes and ~600 MB of disk.
set -euo pipefail

PG_MAJOR=17
SUITE=trixie # Debian 13
DEFAULT_IMAGE="shared-db-kit/postgres:$PG_MAJOR"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENTRYPOINT_SRC="$SCRIPT_DIR/postgres-image/docker-entrypoint.sh"
STAGES=5

log() { printf '[postgres-image] %s\n' "$*"; }
die() {
	printf '[postgres-image] error: %s\n' "$*" >&2
	exit 1
}
usage() {
	awk 'NR > 1 && /^# Usage:/ { p = 1 } p && !/^#/ { exit } p' "${BASH_SOURCE[0]}" |
		sed 's/^# \{0,1\}//'
}

orig_args=("$@")
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
			[ -z "$image" ] || die "only one image name may be given (see --help)"
			image="$1"
			;;
	esac
	shift
done
image="${image:-${KIT_POSTGRES_IMAGE:-$DEFAULT_IMAGE}}"
self="$(basename "${BASH_SOURCE[0]}")"

# --- Docker ----------------------------------------------------------------------------------
if ! command -v docker >/dev/null; then
	die "docker is not installed. Install it (as root: apt-get update && apt-get install -y docker.io),
  start the engine (systemctl start docker, or: dockerd >/var/log/dockerd.log 2>&1 &), then run $self again"
fi
if ! docker_err="$(docker info 2>&1 >/dev/null)"; then
	case "$docker_err" in
		*"permission denied"*)
			die "no permission to use the Docker engine ($(printf '%s' "$docker_err" | tail -n 1)).
  Run $self as root (sudo), or add your user to the docker group (usermod -aG docker \$USER, then log in again)"
			;;
		*)
			die "the Docker engine is not reachable ($(printf '%s' "$docker_err" | tail -n 1)).
  Start it (systemctl start docker, or: dockerd >/var/log/dockerd.log 2>&1 &), or point DOCKER_HOST
  at a running one, then run $self again"
			;;
	esac
fi

image_exists() { docker image inspect "$image" >/dev/null 2>&1; }
if [ "$force" = 0 ] && image_exists; then
	log "image $image already exists; nothing to do (--force rebuilds it)"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	args_q=""
	for a in "${orig_args[@]}"; do args_q+=" $(printf '%q' "$a")"; done
	# A copy run from a temporary directory (the Rust code writes one) names the repository's.
	script_path="$0" where=""
	if [ "$(basename "$SCRIPT_DIR")" != scripts ]; then
		script_path="scripts/$self" where=" in the project's checkout"
	fi
	die "building $image needs root (debootstrap, chroot, mount). Run$where: sudo bash $script_path$args_q
  (once; afterwards the image exists and $self returns at once without root)"
fi
[ -r "$ENTRYPOINT_SRC" ] || die "missing $ENTRYPOINT_SRC (the image's entrypoint); restore it from git"
for tool in flock chroot mount umount tar awk sed; do
	command -v "$tool" >/dev/null || die "'$tool' is missing on this machine; install it (util-linux, coreutils, tar, gawk or mawk, sed)"
done

# One build at a time on this machine (parallel test processes, CI jobs); re-check once the
# lock is ours.
lock_file="${TMPDIR:-/tmp}/shared-db-kit-postgres-image.lock"
exec 9>"$lock_file"
if ! flock -n 9; then
	log "another build of the image is running; waiting for it"
	flock 9
fi
if [ "$force" = 0 ] && image_exists; then
	log "image $image was built meanwhile; nothing to do"
	exit 0
fi

started=$SECONDS
stage_no=0
stage() {
	stage_no=$((stage_no + 1))
	printf '[postgres-image] [%d/%d] %s (%d s)\n' "$stage_no" "$STAGES" "$*" "$((SECONDS - started))"
}
failure_log="${TMPDIR:-/var/tmp}/postgres-image.failed.log"
work=""
tmp_tags=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	local t
	for t in "${tmp_tags[@]}"; do
		docker rmi "$t" >/dev/null 2>&1 || :
	done
	if [ -n "$work" ] && [ -d "$work" ]; then
		# Unmount whatever is still mounted in the rootfs (deepest first) before deleting.
		awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
			while read -r m; do umount -l "$m" || :; done
		if [ "$rc" != 0 ] && [ -s "$work/build.log" ]; then
			cp "$work/build.log" "$failure_log" 2>/dev/null || :
		fi
		rm -rf --one-file-system "$work" || :
	fi
	if [ "$rc" != 0 ]; then
		local where=""
		[ -s "$failure_log" ] && [ -n "$work" ] && where="; full build log: $failure_log"
		printf '[postgres-image] build of %s FAILED after %d s (exit %s)%s\n' \
			"$image" "$((SECONDS - started))" "$rc" "$where" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

work="$(mktemp -d "${TMPDIR:-/var/tmp}/postgres-image.XXXXXX")"
rootfs="$work/rootfs"
: >"$work/build.log"
rm -f "$failure_log"

# Runs a command with its output in the build log; on failure prints WHAT, the end of the
# log and HINT (if any), and returns non-zero.
run_logged() {
	local what="$1" hint="$2"
	shift 2
	printf '\n=== %s: %s\n' "$what" "$*" >>"$work/build.log"
	if ! "$@" >>"$work/build.log" 2>&1; then
		printf '[postgres-image] %s failed; end of the build log:\n' "$what" >&2
		tail -n 40 "$work/build.log" | sed 's/^/    /' >&2
		if [ -n "$hint" ]; then printf '[postgres-image] %s\n' "$hint" >&2; fi
		return 1
	fi
}

# --- [1/5] the Debian mirror and the tools ------------------------------------------------------
stage "checking debootstrap and the Debian mirror for $SUITE"

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

# The first URI that serves $1, the suite name suffix ("", "-updates", "-security"), for
# trixie itself or else for the host's own Debian release (a Debian mirror serves every
# suite); empty if none.
host_id="" host_codename=""
if [ -r /etc/os-release ]; then
	# shellcheck disable=SC1091
	host_id="$(. /etc/os-release && printf '%s' "${ID:-}")"
	# shellcheck disable=SC1091
	host_codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
fi
uri_for() {
	local suffix="$1" s
	for s in "$SUITE" ${host_codename:+"$host_codename"}; do
		if [ "$s" = "$host_codename" ] && [ "$host_id" != debian ]; then continue; fi
		apt_source_entries | awk -v s="$s$suffix" '$2 == s { sub(/\/+$/, "", $1); print $1; exit }' |
			grep . && return 0
	done
	return 0
}

mirror="${KIT_DEBIAN_MIRROR:-$(uri_for "")}"
mirror_note=""
if [ -z "$mirror" ]; then
	mirror=http://deb.debian.org/debian
	mirror_note=" (no Debian mirror in the apt sources; set KIT_DEBIAN_MIRROR to use another)"
fi
mirror="${mirror%/}"
case "$mirror" in
	http://* | https://* | file://*) ;;
	*) die "unsupported mirror URI for debootstrap: $mirror (set KIT_DEBIAN_MIRROR=http(s)://...)" ;;
esac
if [ -n "${KIT_DEBIAN_MIRROR:-}" ]; then
	updates_mirror="$mirror"
else
	updates_mirror="$(uri_for -updates)"
fi
if [ -n "${KIT_DEBIAN_SECURITY_MIRROR:-}" ]; then
	security_mirror="$KIT_DEBIAN_SECURITY_MIRROR"
else
	security_mirror="$(uri_for -security)"
	if [ -z "$security_mirror" ] && [ "$mirror" = http://deb.debian.org/debian ]; then
		security_mirror=http://deb.debian.org/debian-security
	fi
fi
[ "$security_mirror" != none ] || security_mirror=""
security_mirror="${security_mirror%/}"

# Same proxy and Release-date policy as the host's apt.
HTTP_PROXY_APT="" CHECK_VALID_UNTIL=""
if command -v apt-config >/dev/null; then
	eval "$(apt-config shell HTTP_PROXY_APT Acquire::http::Proxy CHECK_VALID_UNTIL Acquire::Check-Valid-Until)"
fi
if [ -z "${http_proxy:-}" ] && [ -n "$HTTP_PROXY_APT" ] && [ "$HTTP_PROXY_APT" != DIRECT ]; then
	export http_proxy="$HTTP_PROXY_APT"
fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
[ -f "$keyring" ] || need_pkgs+=(debian-archive-keyring)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	manual="install it yourself (as root: apt-get update && apt-get install -y ${need_pkgs[*]}), then run $self again"
	command -v apt-get >/dev/null || die "${need_pkgs[*]} missing and this machine has no apt-get: $manual"
	log "installing ${need_pkgs[*]} with apt-get"
	run_logged "apt-get update (host)" "could not install ${need_pkgs[*]}: $manual" apt-get update
	run_logged "apt-get install ${need_pkgs[*]} (host)" "could not install ${need_pkgs[*]}: $manual" \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}"
	command -v debootstrap >/dev/null || die "debootstrap is still missing: $manual"
	[ -f "$keyring" ] || die "$keyring is still missing: $manual"
fi

# debootstrap knows a suite by a script of that name (bookworm's debootstrap has trixie, a
# link to sid; older ones may not). sid's script builds any current Debian release, so it is
# passed explicitly when there is no trixie one.
debootstrap_dir="${DEBOOTSTRAP_DIR:-/usr/share/debootstrap}"
debootstrap_version="$(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || debootstrap --version 2>/dev/null | awk '{ print $NF }' || :)"
debootstrap_script=()
if [ ! -e "$debootstrap_dir/scripts/$SUITE" ]; then
	[ -e "$debootstrap_dir/scripts/sid" ] ||
		die "this debootstrap ($debootstrap_version) knows neither $SUITE nor sid (no $debootstrap_dir/scripts/$SUITE).
  Install a newer one: apt-get update && apt-get install -y debootstrap (from bookworm or later), then run $self again"
	debootstrap_script=("$debootstrap_dir/scripts/sid")
	log "this debootstrap ($debootstrap_version) has no $SUITE script; using its sid script"
fi
log "building $image: Debian $SUITE + postgresql-$PG_MAJOR from $mirror$mirror_note${security_mirror:+, security updates from $security_mirror}"

# --- [2/5] base system ----------------------------------------------------------------------------
stage "debootstrap $SUITE (minbase)"
bootstrap_args=(--variant=minbase --components=main "--keyring=$keyring")
case "$mirror $security_mirror $updates_mirror" in
	*https://*) bootstrap_args+=(--include=ca-certificates) ;;
esac
run_logged "debootstrap $SUITE" \
	"check that $mirror serves $SUITE (or set KIT_DEBIAN_MIRROR), and that $keyring has the Debian 13 keys (apt-get install debian-archive-keyring)" \
	debootstrap "${bootstrap_args[@]}" "$SUITE" "$rootfs" "$mirror" "${debootstrap_script[@]}"

# deb822 sources, the trixie default; the chroot's own keyring package signs them.
rootfs_keyring=""
for k in /usr/share/keyrings/debian-archive-keyring.pgp /usr/share/keyrings/debian-archive-keyring.gpg; do
	if [ -e "$rootfs$k" ]; then
		rootfs_keyring="$k"
		break
	fi
done
rm -f "$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/etc/apt/sources.list.d"
{
	printf 'Types: deb\nURIs: %s\nSuites: %s%s\nComponents: main\n' \
		"$mirror" "$SUITE" "${updates_mirror:+ $SUITE-updates}"
	if [ -n "$rootfs_keyring" ]; then printf 'Signed-By: %s\n' "$rootfs_keyring"; fi
	if [ -n "$security_mirror" ]; then
		printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security_mirror" "$SUITE"
		if [ -n "$rootfs_keyring" ]; then printf 'Signed-By: %s\n' "$rootfs_keyring"; fi
	fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
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
	# LLVM JIT (libLLVM, libz3, the bitcode) is most of the image and only slows down short
	# test queries. libLLVM-NN.so.1 up to LLVM 17, libLLVM.so.NN.1 since (trixie: LLVM 19).
	cat >>"$rootfs/etc/dpkg/dpkg.cfg.d/01-slim-image" <<'EOF'
path-exclude=/usr/lib/*/libLLVM*
path-exclude=/usr/lib/llvm-*/lib/libLLVM*
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
rm -f "$rootfs/etc/resolv.conf" # a file of our own, never a link out of the rootfs
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || :

# --- [3/5] packages ----------------------------------------------------------------------------
stage "installing postgresql-$PG_MAJOR (apt-get update, security updates, install)"
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
apt_hint="check that the mirrors are reachable (KIT_DEBIAN_MIRROR, KIT_DEBIAN_SECURITY_MIRROR=none skips security)"
run_logged "apt-get update (in the rootfs)" "$apt_hint" in_chroot apt-get "${apt_opts[@]}" update
run_logged "apt-get dist-upgrade (in the rootfs)" "$apt_hint" in_chroot apt-get "${apt_opts[@]}" dist-upgrade
run_logged "apt-get install postgresql-$PG_MAJOR (in the rootfs)" "$apt_hint" \
	in_chroot apt-get "${apt_opts[@]}" install "postgresql-$PG_MAJOR" xz-utils
umount "$rootfs/proc"

# --- [4/5] Postgres defaults, entrypoint, slimming -------------------------------------------
stage "configuring postgres and the entrypoint, trimming the rootfs"
pg_bin="/usr/lib/postgresql/$PG_MAJOR/bin"
[ -x "$rootfs$pg_bin/postgres" ] || die "postgresql-$PG_MAJOR installed no $pg_bin/postgres"
pg_version="$(chroot "$rootfs" "$pg_bin/postgres" --version | awk '{ print $3 }')"
[ "${pg_version%%.*}" = "$PG_MAJOR" ] || die "expected PostgreSQL $PG_MAJOR, got '$pg_version'"
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
for tool in usr/bin/setpriv "${pg_bin#/}/initdb" "${pg_bin#/}/pg_ctl" "${pg_bin#/}/psql"; do
	[ -x "$rootfs/$tool" ] || die "the rootfs has no /$tool, which the entrypoint needs"
done

install -m 0755 "$ENTRYPOINT_SRC" "$rootfs/usr/local/bin/docker-entrypoint.sh"
install -d -m 0755 "$rootfs/docker-entrypoint-initdb.d"
pg_uid="$(chroot "$rootfs" id -u postgres)"
pg_gid="$(chroot "$rootfs" id -g postgres)"
# /var/run is a link to /run (absolute): create the directory under the rootfs's own /run,
# never through the link into the host's.
install -d -m 3777 -o "$pg_uid" -g "$pg_gid" "$rootfs/run/postgresql"
[ -L "$rootfs/var/run" ] || install -d -m 3777 -o "$pg_uid" -g "$pg_gid" "$rootfs/var/run/postgresql"
install -d -m 1777 -o "$pg_uid" -g "$pg_gid" "$rootfs/var/lib/postgresql/data"
ln -sf /usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"
echo Etc/UTC >"$rootfs/etc/timezone"

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

# --- [5/5] docker import (+ STOPSIGNAL, which `docker import --change` does not accept) -------
stage "docker import (PostgreSQL $pg_version, $(du -sm --one-file-system "$rootfs" | awk '{ print $1 }') MB rootfs)"
import_tag="postgres-image-import:$$-$RANDOM"
final_tag="postgres-image-final:$$-$RANDOM"
tmp_tags=("$final_tag" "$import_tag")
old_id="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || :)"
tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
	run_logged "docker import" "" docker import \
		--change "ENV PATH=$pg_bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--change "ENV PGDATA=/var/lib/postgresql/data" \
		--change "ENV LANG=C.UTF-8" \
		--change "ENV PG_MAJOR=$PG_MAJOR" \
		--change "EXPOSE 5432" \
		--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change "LABEL org.opencontainers.image.title=postgres org.opencontainers.image.version=$pg_version org.opencontainers.image.base.name=debian:$SUITE" \
		--message "Debian $SUITE + postgresql-$PG_MAJOR ($pg_version), built by scripts/postgres-image.sh" \
		- "$import_tag"
# The classic builder uses the local image: no registry involved, no build context.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$import_tag" |
	run_logged "docker build (STOPSIGNAL SIGINT)" "" env DOCKER_BUILDKIT=0 docker build -q -t "$final_tag" -
# The image must at least start: entrypoint, dynamic libraries, postgres itself.
run_logged "smoke test (docker run $final_tag postgres --version)" "" \
	docker run --rm --network none "$final_tag" postgres --version
docker tag "$final_tag" "$image"
new_id="$(docker image inspect -f '{{.Id}}' "$image")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	docker rmi "$old_id" >/dev/null 2>&1 || log "note: the previous image $old_id is still in use; left in place"
fi

size="$(docker image inspect -f '{{.Size}}' "$image")"
log "built $image (Debian $SUITE, PostgreSQL $pg_version): $(awk -v b="$size" 'BEGIN { printf "%.0f MB", b / 1000 / 1000 }') in $((SECONDS - started)) s"
