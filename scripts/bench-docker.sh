#!/usr/bin/env bash
# Swiftlet benchmark of the Docker provider beside the native provider, in the same run:
#   - cold start: POST /system/functions -> first 200 -> DELETE, BENCH_RUNS times per runtime,
#     on `swiftlet up --provider docker`, on the native provider without its warm pool (the same
#     work: a new sandbox per start) and on the native provider with its warm pool (the default);
#   - reference: `docker run --rm busybox echo hello` on the same engine (the engine's own floor);
#   - warm: wrk --latency against /function/NAME at 1 and 8 connections on each provider.
# The engine is the test engine of scripts/test-dockerd.sh (started, and stopped again if this
# script started it). Everything runs on this machine over loopback.
#
#   scripts/bench-docker.sh                        # ~3 minutes after the release build
#   SWIFTLET_BIN=/path/to/swiftlet scripts/bench-docker.sh
#   BENCH_RUNS (default 5)  BENCH_DURATION (wrk, default 10s)  BENCH_OUTPUT (copy of the table)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPER="$ROOT/scripts/bench/bench_helper.py"
# shellcheck source=bench/warm.sh
source "$ROOT/scripts/bench/warm.sh"
PY=/usr/bin/python3
RUNS=${BENCH_RUNS:-5}
DURATION=${BENCH_DURATION:-10s}
WARMUP=2s
CONNECTIONS="1 8"
OUTPUT=${BENCH_OUTPUT:-}
log() { printf '[bench-docker %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must be a wrk duration such as 10s"
command -v wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

WORK=$(mktemp -d /tmp/swiftlet-bench-docker.XXXXXX)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }
declare -A PIDS=() URLS=() DATAS=()
ENGINE_STARTED=0

cleanup() {
    for label in "${!PIDS[@]}"; do
        kill -TERM "${PIDS[$label]}" 2>/dev/null || true
        wait "${PIDS[$label]}" 2>/dev/null || true
    done
    DOCKER_HOST=$("$ROOT/scripts/test-dockerd.sh" env) docker ps -aq --filter name=swiftlet-bench-docker- 2>/dev/null \
        | xargs -r env DOCKER_HOST="$("$ROOT/scripts/test-dockerd.sh" env)" docker rm -f >/dev/null 2>&1 || true
    [[ $ENGINE_STARTED == 1 ]] && "$ROOT/scripts/test-dockerd.sh" stop
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -n ${SWIFTLET_BIN:-} ]]; then
    BIN=$SWIFTLET_BIN
else
    log "building the release binary"
    (cd "$ROOT" && nice -n 19 swift build -c release --scratch-path "$ROOT/.build-release" --product swiftlet) >"$WORK/build.log" 2>&1 \
        || { tail -30 "$WORK/build.log" >&2; die "the release build failed"; }
    BIN="$ROOT/.build-release/release/swiftlet"
fi

if ! curl -sf --unix-socket /run/swiftlet-test-docker/docker.sock http://docker/_ping >/dev/null 2>&1; then
    "$ROOT/scripts/test-dockerd.sh" start
    ENGINE_STARTED=1
fi
export DOCKER_HOST
DOCKER_HOST=$("$ROOT/scripts/test-dockerd.sh" env)

# The engine's reference image: busybox from the host, imported (no registry, no internet).
if ! docker image inspect busybox:latest >/dev/null 2>&1; then
    mkdir -p "$WORK/busybox/bin"
    cp /bin/busybox "$WORK/busybox/bin/busybox"
    for tool in echo sh; do ln -s busybox "$WORK/busybox/bin/$tool"; done
    tar -C "$WORK/busybox" -c . | docker import --change 'CMD ["/bin/sh"]' - busybox:latest >/dev/null
fi

start() { # label data-dir args...
    local label=$1 data=$2 port
    shift 2
    port=$($PY "$HELPER" free-port)
    DATAS[$label]=$data
    URLS[$label]="http://127.0.0.1:$port"
    "$BIN" up --data-dir "$data" --port "$port" --bind 127.0.0.1 --no-metrics-port "$@" >"$WORK/swiftlet-$label.log" 2>&1 &
    PIDS[$label]=$!
    $PY "$HELPER" wait-http "${URLS[$label]}/healthz" 60 || { tail "$WORK/swiftlet-$label.log" >&2; die "swiftlet '$label' did not start"; }
    log "swiftlet '$label' up on ${URLS[$label]} ($*)"
}

start docker "$WORK/data-docker" --provider docker
start native "$WORK/data-native" --no-warm-pool
start pool "$WORK/data-pool"
$PY "$HELPER" wait-pool "${URLS[pool]}" "${DATAS[pool]}" 120 >/dev/null || true

cp "$ROOT/examples/hello-python/handler.py" "$WORK/handler.py"
cp "$ROOT/examples/hello-node/handler.js" "$WORK/handler.js"
code_of() { [[ $1 == python3 ]] && echo "$WORK/handler.py" || echo "$WORK/handler.js"; }

log "reference: docker run --rm busybox echo hello, $RUNS times"
$PY "$HELPER" cold-docker "$RUNS" swiftlet-bench-docker- busybox:latest echo hello >"$WORK/ref-docker.json"

for rt in python3 node; do
    for label in docker native pool; do
        log "cold start $rt on '$label', $RUNS times"
        $PY "$HELPER" cold-swiftlet "${URLS[$label]}" "${DATAS[$label]}" "$rt" "$(code_of "$rt")" "$RUNS" "cold-$label" \
            >"$WORK/cold-$label-$rt.json"
    done
    row "cold start $rt: docker provider" "$($PY "$HELPER" fmt-cold "$WORK/cold-docker-$rt.json")" \
        "$($PY "$HELPER" fmt-cold "$WORK/ref-docker.json")" "docker run --rm busybox echo (same engine)"
    row "cold start $rt: native, no warm pool" "$($PY "$HELPER" fmt-cold "$WORK/cold-native-$rt.json")" "" ""
    row "cold start $rt: native, warm pool (default)" "$($PY "$HELPER" fmt-cold "$WORK/cold-pool-$rt.json")" "" ""
done

for label in docker native; do
    "$BIN" deploy warm --runtime python3 --code "$WORK/handler.py" --label com.openfaas.scale.max=1 \
        --data-dir "${DATAS[$label]}" --gateway "${URLS[$label]}" >/dev/null
    $PY "$HELPER" wait-http "${URLS[$label]}/function/warm?name=bench" 60 || die "warm did not answer on '$label'"
    warm_wrk "${URLS[$label]}/function/warm?name=bench" "$label" "python3 on '$label'"
done
for c in $CONNECTIONS; do
    for field in p50 p99 rps; do
        row "warm python3, $c conn: $field" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-docker-$c.json" $field)" \
            "$($PY "$HELPER" fmt-wrk "$WORK/wrk-native-$c.json" $field)" "native provider, same run"
    done
    row "warm python3, $c conn: errors" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-docker-$c.json" errors)" \
        "$($PY "$HELPER" fmt-wrk "$WORK/wrk-native-$c.json" errors)" "native provider, same run"
done

{
    echo "swiftlet bench-docker, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null) (scripts/test-dockerd.sh), runc $(runc --version | head -n1 | cut -d' ' -f3)"
    echo "cold start = POST /system/functions -> first 200 from /function/NAME -> DELETE; median (min-max) of $RUNS"
    echo "warm = wrk $DURATION (after $WARMUP warm-up) --latency on /function/warm?name=bench, one instance"
    echo
    $PY "$HELPER" table "$RESULTS"
} | tee "$WORK/table.txt"
[[ -z $OUTPUT ]] || cp "$WORK/table.txt" "$OUTPUT"
