#!/usr/bin/env bash
# Swiftlet's main job, end to end, on a fresh Debian 12 machine (as root):
# installs what it needs, builds, starts `swiftlet up` in a temporary data directory, deploys the
# python3 and node examples (and the python one again under gVisor), invokes them, prints the
# answers and stops cleanly.
#
#   scripts/quickstart.sh            # release build (what you would run)
#   SWIFTLET_CONFIG=debug scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

config=${SWIFTLET_CONFIG:-release}
port=${SWIFTLET_PORT:-8080}
scripts/install-deps.sh

echo "==> swift build -c $config (the first build takes several minutes)"
build_log=$(mktemp /tmp/swiftlet-build.XXXXXX)
if ! swift build -c "$config" --product swiftlet >"$build_log" 2>&1; then
    tail -40 "$build_log" >&2
    echo "error: the build failed (full log: $build_log)" >&2
    exit 1
fi
rm -f "$build_log"
bin="$(swift build -c "$config" --show-bin-path)/swiftlet"
[ -x "$bin" ] || { echo "error: the build did not produce $bin" >&2; exit 1; }

data=$(mktemp -d /tmp/swiftlet-quickstart.XXXXXX)
log="$data.log"
"$bin" up --data-dir "$data" --port "$port" >"$log" 2>&1 &
pid=$!
cleanup() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$data" "$log"
}
trap cleanup EXIT

export SWIFTLET_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$SWIFTLET_URL/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "error: swiftlet up exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
done
grep -E "^(Swiftlet|data:)" "$log" || true

echo "==> deploy the examples"
"$bin" deploy hello-python --runtime python3 --code examples/hello-python --data-dir "$data"
"$bin" deploy hello-node --runtime node --code examples/hello-node --data-dir "$data"

echo "==> invoke them"
echo "\$ swiftlet invoke hello-python --query name=Ada"
"$bin" invoke hello-python --query name=Ada --data ""
echo
echo "\$ echo Grace | swiftlet invoke hello-node"
echo Grace | "$bin" invoke hello-node
echo
echo "\$ curl -s $SWIFTLET_URL/function/hello-python -d Linus"
curl -sS "$SWIFTLET_URL/function/hello-python" -d Linus
echo

echo "==> the hardened tier: the same function in a gVisor sandbox (runsc)"
echo "\$ swiftlet deploy hello-gvisor --runtime python3 --code examples/hello-python --isolation hardened"
"$bin" deploy hello-gvisor --runtime python3 --code examples/hello-python --isolation hardened --data-dir "$data"
"$bin" invoke hello-gvisor --query name=Gvisor --data ""
echo

echo "==> an async call: queued durably, run by the workers, its result kept"
echo "\$ swiftlet invoke hello-python --async --data Barbara"
call_id=$("$bin" invoke hello-python --async --data Barbara)
echo "$call_id"
for _ in $(seq 1 100); do
    "$bin" call "$call_id" --data-dir "$data" | grep -q '^status: *succeeded' && break
    sleep 0.1
done
echo "\$ swiftlet call $call_id"
"$bin" call "$call_id" --data-dir "$data"
"$bin" call "$call_id" --data-dir "$data" | grep -q '^status: *succeeded' || { echo "error: the async call did not succeed" >&2; exit 1; }
echo
"$bin" list --data-dir "$data"

echo "==> stop (SIGTERM): every sandbox is removed"
kill -TERM "$pid"
wait "$pid"
echo "swiftlet stopped cleanly; its log: $(tail -1 "$log" | sed 's/.*\] //')"
echo "Done. Run it yourself: $bin up --data-dir /var/lib/swiftlet"
