#!/usr/bin/env bash
# Fuzzes the live gateway against docs/openapi.yaml with schemathesis (from PyPI, in a venv):
# every operation gets generated and mutated requests, with valid basic auth, and the run fails on
# any 5xx or crash. Bounded: FUZZ_EXAMPLES per operation (default 60) and FUZZ_TIMEOUT seconds in
# all (default 300). Swiftlet and schemathesis run inside a network namespace of their own that
# holds only `lo`, so nothing the fuzzer makes up (image pulls, callback URLs) leaves the machine.
# `/function/*` (5xx are the functions' own answers) and `/system/logs` (follow streams forever)
# are not fuzzed here; their bad inputs have their own tests.
#   scripts/fuzz-api.sh [path/to/swiftlet]      (scripts/test.sh runs it with the debug build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$(cd "$ROOT" && swift build --show-bin-path)/swiftlet}
EXAMPLES=${FUZZ_EXAMPLES:-60}
TIMEOUT=${FUZZ_TIMEOUT:-300}
VENV=/var/cache/swiftlet-test/venv
SCHEMATHESIS_VERSION=4.32.5

[[ -x $BIN ]] || { echo "error: $BIN is not built" >&2; exit 1; }
if [[ ! -x $VENV/bin/st ]] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed" \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    echo "==> pip install schemathesis==$SCHEMATHESIS_VERSION (into $VENV)"
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d /tmp/swiftlet-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/inside.sh" <<INSIDE
set -euo pipefail
ip link set lo up
"$BIN" up --data-dir "$WORK/data" --port 18480 --no-metrics-port --no-warm-pool >"$WORK/swiftlet.log" 2>&1 &
pid=\$!
trap 'kill -TERM \$pid 2>/dev/null; wait \$pid 2>/dev/null || true' EXIT
for _ in \$(seq 1 100); do
    curl -sf http://127.0.0.1:18480/healthz >/dev/null 2>&1 && break
    sleep 0.1
done
password=\$(cat "$WORK/data/basic-auth-password")
# schemathesis keeps a cache in its working directory: keep it out of the checkout.
cd "$WORK"
set +e
timeout $TIMEOUT "$VENV/bin/st" run "$ROOT/docs/openapi.yaml" --url http://127.0.0.1:18480 --auth "admin:\$password" \
    --checks not_a_server_error --max-examples $EXAMPLES --request-timeout 20 --workers 1 --no-color \
    --exclude-path-regex '^/(function|async-function)/|^/system/logs' --suppress-health-check all >"$WORK/fuzz.txt" 2>&1
status=\$?
set -e
kill -0 \$pid 2>/dev/null || { echo "swiftlet died during the fuzzing run:"; tail -20 "$WORK/swiftlet.log"; exit 1; }
exit \$status
INSIDE
echo "==> fuzzing the gateway against docs/openapi.yaml (schemathesis $SCHEMATHESIS_VERSION, $EXAMPLES examples per operation, in a private network namespace)"
set +e
unshare --net --fork bash "$WORK/inside.sh"
status=$?
set -e
grep -E "^(API|Operations|Test cases|Seed|=+ )|passed|failed|errors?" "$WORK/fuzz.txt" | tail -12 || true
if [[ $status -ne 0 ]]; then
    echo "error: the fuzzing run failed (status $status); its report:" >&2
    tail -80 "$WORK/fuzz.txt" >&2
    exit 1
fi
