#!/usr/bin/env bash
# schemathesis (PyPI, 4.x) against the migrated pair, as an outsider who only has the two
# OpenAPI documents: every check, both directions (responses match the document; requests
# the document allows are accepted, the ones it forbids refused), a fixed seed so a failure
# replays. Starts `migrated up` on free loopback ports with its own disposable Postgres
# container (labelled with SHARED_DB_KIT_RUN) and stops it on exit, container included.
# Exits non-zero on any failure.
#
#   scripts/schemathesis.sh                 # seed 1313, 25 examples per operation
#   SCHEMATHESIS_SEED=7 SCHEMATHESIS_EXAMPLES=100 scripts/schemathesis.sh
#
# The legacy pair publishes no OpenAPI document: its contract is its shared tables.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=${SCHEMATHESIS_SEED:-1313}
examples=${SCHEMATHESIS_EXAMPLES:-25}
: "${SHARED_DB_KIT_RUN:=schemathesis-$(cat /proc/sys/kernel/random/uuid)}"
export SHARED_DB_KIT_RUN
mine="label=org.shared-db-kit.run=$SHARED_DB_KIT_RUN"

if ! command -v schemathesis >/dev/null; then
  echo "schemathesis.sh: schemathesis is not installed; install it with" \
    "\`python3 -m pip install 'schemathesis>=4,<5'\`" >&2
  exit 2
fi

cargo build --quiet --bin migrated
work=$(mktemp -d)
before=$(docker ps -aq --filter "$mine" | sort)
# Port 0: the pair picks free ports and prints them; nothing here collides with a pair
# already running on the documented defaults.
RUST_LOG=${RUST_LOG:-warn} cargo run --quiet --bin migrated -- \
  --customers-addr 127.0.0.1:0 --orders-addr 127.0.0.1:0 up >"$work/up.out" 2>"$work/up.err" &
pair=$!

stop() {
  status=$?
  if kill -0 "$pair" 2>/dev/null; then
    kill -INT "$pair" 2>/dev/null || true
    wait "$pair" 2>/dev/null || true
  fi
  # The pair removes its container on Ctrl-C; one it could not remove is removed here,
  # and only one this script started (another run under the same label keeps its own).
  left=$(comm -13 <(printf '%s\n' "$before") <(docker ps -aq --filter "$mine" | sort))
  if [ -n "$left" ]; then docker rm -f $left >/dev/null; fi
  rm -rf "$work"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Ready when it says so; gone means it failed, and its own message says why.
until grep -q 'Press Ctrl-C' "$work/up.out"; do
  if ! kill -0 "$pair" 2>/dev/null; then
    echo "schemathesis.sh: the migrated pair did not start:" >&2
    cat "$work/up.err" "$work/up.out" >&2
    exit 1
  fi
  sleep 0.5
done
customers=$(awk '$1 == "customers" && $2 ~ /^http/ { sub("/v1/customers", "", $2); print $2 }' "$work/up.out")
orders=$(awk '$1 == "orders" && $2 ~ /^http/ { sub("/v1/orders", "", $2); print $2 }' "$work/up.out")

failed=0
summary=()
# Orders first: the customers run may suspend or delete seed customers that orders needs.
for service in orders customers; do
  base=${!service}
  printf '\n==> schemathesis: %s (%s/openapi.json, seed %s, %s examples per operation)\n' \
    "$service" "$base" "$seed" "$examples"
  # The hooks module keeps the generator from reusing an Idempotency-Key with another
  # body (see scripts/schemathesis_hooks.py); the config names the 412 of If-Match.
  if ! SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" \
    schemathesis --config-file scripts/schemathesis.toml run "$base/openapi.json" --url "$base" \
    --checks all --mode all --seed "$seed" --max-examples "$examples" \
    --workers 1 --request-timeout 10 --suppress-health-check too_slow |
    tee "$work/$service.out"; then
    failed=1
  fi
  # The number of cases is the figure the README quotes.
  cases=$(grep -oE '[0-9]+ generated' "$work/$service.out" | tail -1 | cut -d' ' -f1)
  summary+=("schemathesis $service: ${cases:-?} cases")
done
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "schemathesis.sh: schemathesis found failures (seed $seed); fix them or the document" >&2
  exit 1
fi
echo "schemathesis: no failures on either service"
