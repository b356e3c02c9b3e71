#!/usr/bin/env bash
# Swiftlet benchmark: scale from zero (with and without the warm pool), cold start, warm
# latency and throughput, async calls, each beside a reference measured in the same run on the
# same machine.
#
# Usage (as root, from anywhere):
#   scripts/bench.sh
#   SWIFTLET_BIN=/path/to/swiftlet scripts/bench.sh     # skip the release build
#   BENCH_ONLY=async scripts/bench.sh                   # only the async section (~1-2 minutes)
#
# Knobs (environment):
#   SWIFTLET_BIN        use this binary instead of building .build-release/release/swiftlet
#   BENCH_COLD_RUNS     scale-from-zero runs per series, and runs of the runc/docker busybox echo
#                       references (default 30)
#   BENCH_RUNS          deploy -> first 200 cold starts and other references (default 5)
#   BENCH_DURATION      wrk duration of each measured load run (default 10s)
#   BENCH_WARMUP        wrk warm-up before each measured run, discarded (default 2s)
#   BENCH_CONNECTIONS   wrk connection counts (default "1 8 64"; threads = min(2, connections))
#   BENCH_NODE          1 (default) also measures node, 0 skips it
#   BENCH_OUTPUT        also write the final report (machine + table + targets) to this file
#   BENCH_KEEP          1 keeps the work directory (logs, wrk outputs) instead of removing it
#   BENCH_ONLY          async: run only the async section (no references, cold starts, images,
#                       warm runs, no busybox-static or docker needed); unset: everything
#   BENCH_ASYNC_CALLS   calls of the completed-calls/s run (default 5000)
#   BENCH_ASYNC_DURATION  wrk duration of each measured POST run of the async section (default
#                       5s; every 202 is a real call that then runs: keep it short)
#   BENCH_ASYNC_E2E_RUNS  single async calls timed from the POST to their callback (default 50)
#   BENCH_ASYNC_TIMEOUT seconds the async section waits for a queue to drain, at most, each
#                       time (default 300)
#
# What it does:
#   1. builds the release binary (nice -n 19) unless SWIFTLET_BIN is set; installs wrk and
#      busybox-static if missing;
#   2. starts `swiftlet up` (default warm pool: python3=1, node=1) on a free 127.0.0.1 port with a
#      temporary data directory, and waits until the pool is full;
#   3. references: `runc run` of busybox echo in a rootfs holding only busybox-static's
#      /bin/busybox (BENCH_COLD_RUNS times, whole wall time), `docker run --rm busybox echo` when
#      `docker info` works, `runc run` of a bare bundle (read-only binds of host /usr) running
#      /usr/bin/true, python3 -c pass and node -e 0, and the same commands on the host;
#   4. cold start: POST /system/functions -> first 200 from /function/NAME -> DELETE, BENCH_RUNS
#      times per runtime, beside the same runner spawned on the host;
#   5. scale from zero: deploys NAME with com.openfaas.scale.zero=true (zero-duration 1h), then
#      BENCH_COLD_RUNS times: POST /system/scale-function/NAME {"replicas":0}, waits until it has
#      no available replica, its container is gone and the warm pool is full again, then times
#      one GET /function/NAME (fresh connection) until the first 200;
#   6. the same cold start and scale from zero on a second `swiftlet up --no-warm-pool` (own data
#      directory and port), stopped right after;
#   7. image functions (no pool): import, cold start, references on the same unpacked rootfs;
#   8. warm: wrk --latency at each connection count against /function/NAME (deployed with
#      com.openfaas.scale.max = ceil(largest count / 10), the default capacity target, so the
#      autoscaler can follow; the replicas reached are reported), against the same runner on the
#      host outside any sandbox (same handler file) and against one swiftlet instance from inside
#      its network namespace (nsenter; no gateway); the gateway alone (GET /healthz); the image
#      function through the gateway beside wrk inside its netns against busybox httpd itself;
#   9. async (on the same `swiftlet up`, default --async-workers 32): deploys `hello`
#      (examples/hello-python) with com.swiftlet.async.concurrency=16 and
#      com.openfaas.scale.max=2; then
#      - acknowledged calls/s: wrk (scripts/bench/post.lua: POST "bench", answers counted by
#        status) at 1 and 16 connections for BENCH_ASYNC_DURATION after a BENCH_WARMUP warm-up,
#        POST /function/hello (sync, must answer 200) then POST /async-function/hello (must
#        answer 202: the call is committed to SQLite); the queue is drained before each measured
#        run and after it (the calls run while wrk enqueues);
#      - completed calls/s: BENCH_ASYNC_CALLS POST /async-function/hello over 16 keep-alive
#        connections as fast as they are acknowledged, GET /system/async counts polled every
#        50 ms until every call finished: calls / (first POST → all finished); beside the sync
#        wrk run at 16 connections and the same calls made synchronously by the same client;
#      - end-to-end: BENCH_ASYNC_E2E_RUNS single calls with X-Callback-Url on a loopback
#        receiver (bench_helper.py, http.server on 127.0.0.1), POST → callback received,
#        interleaved with sync POST /function/hello;
#      - every 202 must end as a succeeded call: the 202s counted against the store's counts;
#  10. prints the table, the scale-from-zero targets against `runc run` and the problems seen.
#      Everything listens on 127.0.0.1 only; the EXIT trap stops every swiftlet it started
#      (SIGTERM, then waits), the direct runners, and removes temporary files and containers
#      (the data directories, with the async queue's database, are inside the work directory).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPER="$ROOT/scripts/bench/bench_helper.py"
PY=/usr/bin/python3
RUNC=/usr/bin/runc
RUNS=${BENCH_RUNS:-5}
COLD_RUNS=${BENCH_COLD_RUNS:-30}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-"1 8 64"}
WITH_NODE=${BENCH_NODE:-1}
KEEP=${BENCH_KEEP:-0}
ONLY=${BENCH_ONLY:-}
ASYNC_CALLS=${BENCH_ASYNC_CALLS:-5000}
ASYNC_DURATION=${BENCH_ASYNC_DURATION:-5s}
ASYNC_E2E_RUNS=${BENCH_ASYNC_E2E_RUNS:-50}
ASYNC_TIMEOUT=${BENCH_ASYNC_TIMEOUT:-300}
# The async section's fixed settings: wrk connection counts, the function's async concurrency
# (label) and its scale.max (ceil(16 / 10): the autoscaler's default target is 10 in flight).
ASYNC_FN=hello
ASYNC_CONNECTIONS="1 16"
ASYNC_CONCURRENCY=16
ASYNC_SCALE_MAX=$(((ASYNC_CONCURRENCY + 9) / 10))

START_EPOCH=$(date +%s)
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (swiftlet up and runc need it)"
[[ -x $RUNC ]] || die "$RUNC is missing (apt-get install runc)"
[[ -x $PY ]] || die "$PY is missing"
[[ -x /usr/bin/node ]] || { log "/usr/bin/node is missing: skipping node"; WITH_NODE=0; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"
[[ $COLD_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_COLD_RUNS must be a positive number"
for c in $CONNECTIONS; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must hold positive numbers, not '$c'"
done
[[ -z $ONLY || $ONLY == async ]] || die "BENCH_ONLY must be 'async' or unset, not '$ONLY'"
[[ $ASYNC_CALLS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ASYNC_CALLS must be a positive number"
[[ $ASYNC_E2E_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ASYNC_E2E_RUNS must be a positive number"
[[ $ASYNC_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_ASYNC_TIMEOUT must be a positive number of seconds"
[[ $ASYNC_DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_ASYNC_DURATION must be a wrk duration such as 5s"

WORK=$(mktemp -d /tmp/swiftlet-bench.XXXXXX)
chmod 755 "$WORK"
REF_STATE="$WORK/runc-state"
RESULTS="$WORK/results.tsv"
NOTES="$WORK/notes.txt"
: >"$RESULTS"
: >"$NOTES"
BUILD_PID=""
DIRECT_PIDS=()
DOCKER_OK=0
DOCKER_PREFIX="swiftlet-bench-$$-"
# The swiftlets started by this script, by label: pid, run-directory key, log, gateway URL, data.
declare -A SW_PID=() SW_KEY=() SW_LOG=() SW_URL=() SW_DATA=()

stop_pid() { # pid label: SIGTERM, up to 30 s, then SIGKILL; returns 1 if it had to kill
    local pid=$1 label=$2 killed=0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$label did not stop within 30 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        killed=1
    fi
    wait "$pid" 2>/dev/null
    return "$killed"
}

remove_leftovers() { # key: containers a killed swiftlet left, then its run directory
    local key=$1 sroot="/run/swiftlet/$1/runc" id
    if [[ -d $sroot ]]; then
        for id in $("$RUNC" --root "$sroot" list --quiet 2>/dev/null); do
            log "removing leftover swiftlet container $id"
            "$RUNC" --root "$sroot" delete -f "$id" >/dev/null 2>&1
        done
    fi
    if [[ -d /run/swiftlet/$key ]] && ! grep -q " /run/swiftlet/$key" /proc/self/mountinfo; then
        rm -rf "/run/swiftlet/$key"
    fi
}

cleanup() {
    local rc=$? label pid id
    set +e
    trap - EXIT INT TERM
    if [[ -n $BUILD_PID ]] && kill -0 "$BUILD_PID" 2>/dev/null; then
        log "stopping the build (pid $BUILD_PID)"
        kill -TERM "$BUILD_PID" 2>/dev/null
        wait "$BUILD_PID" 2>/dev/null
    fi
    for pid in "${DIRECT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for label in "${!SW_PID[@]}"; do
        pid=${SW_PID[$label]}
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping swiftlet '$label' (SIGTERM to pid $pid)"
            stop_pid "$pid" "swiftlet '$label'"
        fi
    done
    for label in "${!SW_KEY[@]}"; do
        remove_leftovers "${SW_KEY[$label]}"
    done
    if [[ -d $REF_STATE ]]; then
        for id in $("$RUNC" --root "$REF_STATE" list --quiet 2>/dev/null); do
            "$RUNC" --root "$REF_STATE" delete -f "$id" >/dev/null 2>&1
        done
    fi
    if [[ $DOCKER_OK == 1 ]]; then
        for id in $(docker ps -aq --filter "name=^$DOCKER_PREFIX" 2>/dev/null); do
            docker rm -f "$id" >/dev/null 2>&1
        done
    fi
    if [[ $rc -ne 0 ]]; then
        for label in "${!SW_LOG[@]}"; do
            [[ -f ${SW_LOG[$label]} ]] || continue
            log "last lines of the log of swiftlet '$label':"
            tail -n 30 "${SW_LOG[$label]}" >&2
        done
    fi
    if [[ $KEEP == 1 ]]; then
        log "work directory kept: $WORK"
    elif ! grep -q " $WORK" /proc/self/mountinfo; then
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# Binary and tools
# --------------------------------------------------------------------------
if [[ -n ${SWIFTLET_BIN:-} ]]; then
    BIN=$SWIFTLET_BIN
    [[ -x $BIN ]] || die "SWIFTLET_BIN=$BIN is not an executable"
    log "using SWIFTLET_BIN=$BIN (no build)"
else
    BIN="$ROOT/.build-release/release/swiftlet"
    log "building the release binary (nice -n 19; a first build can take ~10 minutes; log: $WORK/build.log)"
    build_start=$(date +%s)
    (cd "$ROOT" && exec nice -n 19 swift build -c release --scratch-path "$ROOT/.build-release" --product swiftlet) \
        >"$WORK/build.log" 2>&1 &
    BUILD_PID=$!
    while kill -0 "$BUILD_PID" 2>/dev/null; do
        sleep 15
        kill -0 "$BUILD_PID" 2>/dev/null && log "  still building: $(tail -n 1 "$WORK/build.log" | cut -c1-100)"
    done
    if ! wait "$BUILD_PID"; then
        BUILD_PID=""
        tail -n 40 "$WORK/build.log" >&2
        die "the release build failed"
    fi
    BUILD_PID=""
    log "build done in $(($(date +%s) - build_start)) s"
    [[ -x $BIN ]] || die "the build produced no $BIN"
fi
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (apt-get install -y wrk)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1 \
        || { DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null; } \
        || die "cannot install wrk"
fi

# The image and the references (not needed by the async section alone).
if [[ $ONLY != async ]]; then
    # The image's only binary: Debian's statically linked busybox.
    if ! dpkg -s busybox-static >/dev/null 2>&1; then
        # busybox-static conflicts with the dynamic busybox: do not replace a package behind the user's back.
        dpkg -s busybox >/dev/null 2>&1 && die "the image needs busybox-static, which replaces the installed busybox package: apt-get install busybox-static"
        log "installing busybox-static (apt-get install -y busybox-static)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >/dev/null 2>&1 \
            || { DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >/dev/null; } \
            || die "cannot install busybox-static"
    fi
    # (Only copied into the image, mode 0755 there: the host file need not be executable.)
    [[ -r /bin/busybox ]] || die "/bin/busybox is missing although busybox-static is installed"

    # docker is only a reference: used when its daemon answers.
    if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
        DOCKER_OK=1
    fi
fi

# --------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------
MACHINE="$WORK/machine.txt"
{
    echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine:   $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
    echo "kernel:    $(uname -sr)"
    echo "runc:      $("$RUNC" --version | head -n 1)"
    echo "cgroups:   $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/v2/; s/tmpfs/v1/')"
    if [[ $DOCKER_OK == 1 ]]; then
        echo "docker:    $(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null)"
    else
        echo "docker:    not present"
    fi
    echo "python3:   $($PY --version 2>&1 | cut -d' ' -f2); node: $( [[ -x /usr/bin/node ]] && /usr/bin/node --version || echo none); wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); busybox: $(dpkg-query -W -f '${Package} ${Version}' busybox-static 2>/dev/null)"
    echo "swiftlet:  $("$BIN" --version 2>/dev/null || echo '?') ($BIN), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
    echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (at start)"
    if [[ $ONLY != async ]]; then
        echo "settings:  scale-from-zero runs=$COLD_RUNS, cold-start runs=$RUNS, wrk duration=$DURATION (warm-up $WARMUP), connections=$CONNECTIONS, threads=min(2, connections)"
    else
        echo "settings:  BENCH_ONLY=async: only the async section"
    fi
    echo "async:     $ASYNC_FN (python3 hello) with com.swiftlet.async.concurrency=$ASYNC_CONCURRENCY, com.openfaas.scale.max=$ASYNC_SCALE_MAX; swiftlet up --async-workers 32 (default); wrk POST $ASYNC_DURATION (warm-up $WARMUP) at $ASYNC_CONNECTIONS connections; completed: $ASYNC_CALLS calls over $ASYNC_CONCURRENCY connections; end-to-end: $ASYNC_E2E_RUNS calls"
    echo "storage:   $WORK on $(df -PT "$WORK" | awk 'NR == 2 {print $2 " (" $1 ")"}'): the async queue's SQLite database (WAL)"
} >"$MACHINE"
cat "$MACHINE" >&2

row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# --------------------------------------------------------------------------
# Swiftlet instances
# --------------------------------------------------------------------------
start_swiftlet() { # label data-dir [extra `swiftlet up` arguments]
    local label=$1 data=$2 port
    shift 2
    port=$($PY "$HELPER" free-port)
    SW_DATA[$label]=$data
    SW_URL[$label]="http://127.0.0.1:$port"
    SW_KEY[$label]=$($PY "$HELPER" swiftlet-key "$data")
    SW_LOG[$label]="$WORK/swiftlet-$label.log"
    log "starting swiftlet '$label' on ${SW_URL[$label]} (data $data${*:+; $*})"
    "$BIN" up --data-dir "$data" --port "$port" --bind 127.0.0.1 "$@" >"${SW_LOG[$label]}" 2>&1 &
    SW_PID[$label]=$!
    $PY "$HELPER" wait-http "${SW_URL[$label]}/healthz" 60 || die "swiftlet '$label' did not answer /healthz within 60 s"
    # Measure nothing while the pool fills: its runners' start would compete for the CPUs.
    if ! $PY "$HELPER" wait-pool "${SW_URL[$label]}" "$data" 120 >"$WORK/pool-$label-start.json"; then
        echo "swiftlet '$label': the warm pool was not full 120 s after the start: $(cat "$WORK/pool-$label-start.json")" >>"$NOTES"
    fi
    log "swiftlet '$label' is up; warm pool: $(cat "$WORK/pool-$label-start.json")"
}

stop_swiftlet() { # label: stop it now and note whether it stopped cleanly and left nothing
    local label=$1 pid left
    pid=${SW_PID[$label]}
    grep -E '\b(error|critical|warning)\b' "${SW_LOG[$label]}" | head -n 20 | sed "s/^/swiftlet '$label' log: /" >>"$NOTES" || true
    log "stopping swiftlet '$label' (SIGTERM to pid $pid)"
    if ! stop_pid "$pid" "swiftlet '$label'"; then
        echo "swiftlet '$label' did not stop within 30 s of SIGTERM" >>"$NOTES"
    else
        wait "$pid" 2>/dev/null || true
        grep -q "stopped cleanly" "${SW_LOG[$label]}" || echo "swiftlet '$label' log has no 'stopped cleanly' line" >>"$NOTES"
        left=$("$RUNC" --root "/run/swiftlet/${SW_KEY[$label]}/runc" list --quiet 2>/dev/null | wc -l)
        [[ $left -eq 0 ]] || echo "swiftlet '$label': $left container(s) left after shutdown" >>"$NOTES"
    fi
    unset 'SW_PID[$label]'
}

POOL=pool
NOPOOL=nopool
start_swiftlet "$POOL" "$WORK/data-pool"
GATEWAY=${SW_URL[$POOL]}
DATA=${SW_DATA[$POOL]}
SWIFTLET_KEY=${SW_KEY[$POOL]}
SWIFTLET_LOG=${SW_LOG[$POOL]}

# Function code: the examples, also copied into host folders for the direct runners.
mkdir -p "$WORK/fn-python" "$WORK/fn-node"
cp "$ROOT/examples/hello-python/handler.py" "$WORK/fn-python/handler.py"
cp "$ROOT/examples/hello-node/handler.js" "$WORK/fn-node/handler.js"
chmod -R a+rX "$WORK/fn-python" "$WORK/fn-node"
RUNTIMES=(python3)
[[ $WITH_NODE == 1 ]] && RUNTIMES+=(node)
code_of() { [[ $1 == python3 ]] && echo "$WORK/fn-python/handler.py" || echo "$WORK/fn-node/handler.js"; }
dir_of() { [[ $1 == python3 ]] && echo "$WORK/fn-python" || echo "$WORK/fn-node"; }
runner_of() { [[ $1 == python3 ]] && echo "$ROOT/runners/python3/runner.py" || echo "$ROOT/runners/node/runner.js"; }
short_of() { [[ $1 == python3 ]] && echo py || echo node; }

# The wrk rows of the table (sections 4 and 5).
replicas_text() { # name c: "R (A available) → R (A available)" before and after the measured run
    local b a b_r b_a a_r a_a
    read -r b_r b_a <"$WORK/replicas-$1-c$2.before" || true
    read -r a_r a_a <"$WORK/replicas-$1-c$2.after" || true
    b="${b_r:-?} (${b_a:-?} available)"
    a="${a_r:-?} (${a_a:-?} available)"
    echo "$b → $a"
}

wrk_rows() { # title gateway-json reference-json reference-name [second-ref-json second-ref-name]
    local f what
    for f in p50 p99 rps errors; do
        case $f in
            p50) what="p50 latency" ;; p99) what="p99 latency" ;; rps) what="throughput" ;; errors) what="errors / requests" ;;
        esac
        row "$1: $what" "$($PY "$HELPER" fmt-wrk "$2" $f)" "$($PY "$HELPER" fmt-wrk "$3" $f)" "$4"
        [[ -z ${5:-} ]] || row "" "" "$($PY "$HELPER" fmt-wrk "$5" $f)" "$6"
    done
}

if [[ $ONLY != async ]]; then
    # --------------------------------------------------------------------------
    # 1. References: runc run / docker run of busybox echo, bare bundle, host exec
    # --------------------------------------------------------------------------
    mkdir -p "$WORK/bundle" "$WORK/busybox-bundle" "$REF_STATE"
    log "reference: runc run of busybox echo in a busybox-only rootfs, $COLD_RUNS times"
    $PY "$HELPER" make-busybox-bundle "$WORK/busybox-bundle"
    $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/busybox-bundle" "$COLD_RUNS" /bin/busybox echo hello >"$WORK/ref-runc-echo.json"
    if [[ $DOCKER_OK == 1 ]]; then
        log "reference: docker run --rm busybox echo, $COLD_RUNS times (image pulled first if missing)"
        $PY "$HELPER" cold-docker "$COLD_RUNS" "$DOCKER_PREFIX" busybox echo hello >"$WORK/ref-docker-echo.json"
    else
        log "docker: not present (docker info fails): no docker reference"
    fi
    log "cold start references: bare runc bundle and host exec, $RUNS times each"
    $PY "$HELPER" make-bundle "$WORK/bundle"
    $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/true >"$WORK/cold-runc-true.json"
    $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/python3 -c pass >"$WORK/cold-runc-python3.json"
    $PY "$HELPER" cold-host "$RUNS" /usr/bin/python3 -c pass >"$WORK/cold-host-python3.json"
    if [[ $WITH_NODE == 1 ]]; then
        $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/node -e 0 >"$WORK/cold-runc-node.json"
        $PY "$HELPER" cold-host "$RUNS" /usr/bin/node -e 0 >"$WORK/cold-host-node.json"
    fi

    # --------------------------------------------------------------------------
    # 2. Cold start (deploy -> first 200) and scale from zero, with and without the warm pool
    # --------------------------------------------------------------------------
    cold_series() { # label: deploy cold start and scale from zero on swiftlet LABEL, every runtime
        local label=$1 rt s gw=${SW_URL[$1]} data=${SW_DATA[$1]} slog=${SW_LOG[$1]}
        for rt in "${RUNTIMES[@]}"; do
            s=$(short_of "$rt")
            log "[$label] cold start $rt: deploy -> first 200 -> remove, $RUNS times"
            $PY "$HELPER" cold-swiftlet "$gw" "$data" "$rt" "$(code_of "$rt")" "$RUNS" "cold-$s" >"$WORK/cold-$label-$rt.json"
            $PY "$HELPER" start-ms "$slog" "cold-$s" >"$WORK/cold-startms-$label-$rt.json"
            log "[$label] scale from zero $rt: scale to 0 -> settled -> first 200, $COLD_RUNS times"
            $PY "$HELPER" scale-zero "$gw" "$data" "$rt" "$(code_of "$rt")" "$COLD_RUNS" "zero-$s" "$slog" >"$WORK/zero-$label-$rt.json" \
                || log "[$label] scale from zero $rt failed: $(head -c 600 "$WORK/zero-$label-$rt.json")"
            log "[$label] scale from zero $rt: $($PY "$HELPER" fmt-pct "$WORK/zero-$label-$rt.json"), pool hits $($PY "$HELPER" fmt-field "$WORK/zero-$label-$rt.json" hit_runs n)"
        done
    }
    cold_series "$POOL"
    for rt in "${RUNTIMES[@]}"; do
        log "cold start $rt: the same runner spawned on the host -> first 200, $RUNS times"
        $PY "$HELPER" cold-direct "$rt" "$(runner_of "$rt")" "$(dir_of "$rt")" "$RUNS" >"$WORK/cold-direct-$rt.json"
    done
    start_swiftlet "$NOPOOL" "$WORK/data-nopool" --no-warm-pool
    cold_series "$NOPOOL"
    stop_swiftlet "$NOPOOL"

    # The rows: scale from zero first (the headline), then the deploy cold starts.
    ECHO_REF="runc run, busybox-only rootfs: busybox echo (whole wall time)"
    for rt in "${RUNTIMES[@]}"; do
        for label in "$POOL" "$NOPOOL"; do
            z="$WORK/zero-$label-$rt.json"
            if [[ $label == "$POOL" ]]; then what="warm pool"; else what="no pool (--no-warm-pool)"; fi
            row "scale from zero $rt hello, $what: GET → first 200 (N=$COLD_RUNS)" \
                "$($PY "$HELPER" fmt-pct "$z")" "$($PY "$HELPER" fmt-pct "$WORK/ref-runc-echo.json")" "$ECHO_REF"
            row "  median (min–max)" "$($PY "$HELPER" fmt-cold "$z")" "$($PY "$HELPER" fmt-cold "$WORK/ref-runc-echo.json")" "$ECHO_REF"
            row "  of which instance start logged by swiftlet (start_ms)" "$($PY "$HELPER" fmt-pct "$z" start_ms)" "—" ""
            if [[ $label == "$POOL" ]]; then
                row "  calls served from the warm pool (pool hits / runs)" "$($PY "$HELPER" fmt-field "$z" hit_runs n)" "—" \
                    "(GET /system/pool hits before and after each call)"
            fi
            row "  between runs: scale to 0 → stopped, pool full again" "$($PY "$HELPER" fmt-pct "$z" settle_ms)" "—" "(not part of the figure above)"
        done
    done
    if [[ $DOCKER_OK == 1 ]]; then
        row "reference: docker run --rm busybox echo hello (N=$COLD_RUNS)" "—" \
            "$($PY "$HELPER" fmt-pct "$WORK/ref-docker-echo.json")" "docker run --rm busybox echo (whole wall time)"
    else
        row "reference: docker run --rm busybox echo hello" "—" "docker: not present" "(docker info fails)"
    fi

    N="N=$RUNS, median (min–max)"
    for rt in "${RUNTIMES[@]}"; do
        if [[ $rt == python3 ]]; then refcmd="python3 -c pass"; else refcmd="node -e 0"; fi
        for label in "$POOL" "$NOPOOL"; do
            if [[ $label == "$POOL" ]]; then what="warm pool"; else what="no pool"; fi
            c="$WORK/cold-$label-$rt.json"
            row "cold start $rt hello, $what: POST deploy → first 200 ($N)" \
                "$($PY "$HELPER" fmt-cold "$c")" \
                "$($PY "$HELPER" fmt-cold "$WORK/cold-direct-$rt.json")" \
                "same runner spawned on the host (no sandbox) → first 200"
            row "  of which POST /system/functions → 202" "$($PY "$HELPER" fmt-cold "$c" post_ms)" "—" ""
            row "  of which instance start logged by swiftlet (start_ms)" \
                "$($PY "$HELPER" fmt-cold "$WORK/cold-startms-$label-$rt.json")" \
                "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-$rt.json")" \
                "runc run, bare bundle: $refcmd"
            if [[ $label == "$POOL" ]]; then
                row "  pool hits / misses during these runs" "$($PY "$HELPER" fmt-field "$c" pool_hits pool_misses)" "—" ""
            fi
        done
        row "  $refcmd, no container" "—" "$($PY "$HELPER" fmt-cold "$WORK/cold-host-$rt.json")" "host exec"
    done
    row "bare container start+exit" "—" "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-true.json")" "runc run, bare bundle: /usr/bin/true"
    # --------------------------------------------------------------------------
    # 3. Image functions: import, cold start with a warm store, references on the same rootfs
    # --------------------------------------------------------------------------
    IMAGE_REF=localhost/bench-httpd:1
    log "image: building $IMAGE_REF (busybox-static httpd) as a docker save tarball"
    mkdir -p "$WORK/image"
    $PY "$HELPER" make-image "$WORK/image" "$IMAGE_REF" >"$WORK/image-build.json"
    image_kib=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f KiB tarball, %.0f KiB layer" % (r["archive_bytes"]/1024, r["layer_bytes"]/1024))' "$WORK/image-build.json")
    log "image: POST /system/images/import ($image_kib)"
    $PY "$HELPER" import-image "$GATEWAY" "$DATA" "$WORK/image/image.tar" >"$WORK/cold-image-import.json" \
        || die "the image import failed: $(cat "$WORK/cold-image-import.json")"
    log "image: first instance after the import (unpacks the layer into the store)"
    $PY "$HELPER" cold-swiftlet-image "$GATEWAY" "$DATA" "$IMAGE_REF" true 1 img-first >"$WORK/cold-swiftlet-img-first.json"
    $PY "$HELPER" start-ms "$SWIFTLET_LOG" img-first >"$WORK/cold-startms-img-first.json"
    IMG_ROOTFS=$($PY "$HELPER" image-rootfs "$DATA") || die "cannot find the unpacked rootfs of $IMAGE_REF"
    for mode in ro rw; do
        if [[ $mode == ro ]]; then ro=true; else ro=false; fi
        log "image cold start, readOnlyRootFilesystem $ro: deploy -> first 200 -> remove, $RUNS times"
        $PY "$HELPER" cold-swiftlet-image "$GATEWAY" "$DATA" "$IMAGE_REF" "$ro" "$RUNS" "img-$mode" >"$WORK/cold-swiftlet-img-$mode.json"
        $PY "$HELPER" start-ms "$SWIFTLET_LOG" "img-$mode" >"$WORK/cold-startms-img-$mode.json"
    done
    log "image cold start references: runc on the same rootfs ($IMG_ROOTFS)"
    $PY "$HELPER" make-image-bundle "$WORK/image-bundle" "$IMG_ROOTFS" || die "cannot make the image bundle"
    $PY "$HELPER" cold-runc-httpd "$RUNC" "$REF_STATE" "$WORK/image-bundle" "$RUNS" run 8080 /_/health >"$WORK/cold-runc-httpd-run.json"
    $PY "$HELPER" cold-runc-httpd "$RUNC" "$REF_STATE" "$WORK/image-bundle" "$RUNS" create 8080 /_/health >"$WORK/cold-runc-httpd-create.json"
    $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/image-bundle" "$RUNS" /bin/busybox true >"$WORK/cold-runc-busybox-true.json"

    row "image import: POST /system/images/import → 201 (N=1; $image_kib)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-image-import.json")" "—" "(blobs verified and stored; unpacked at first start)"
    row "image first start after import: deploy → first 200 (N=1)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-img-first.json")" "—" "(includes unpacking the layer)"
    row "  of which instance start logged by swiftlet (start_ms)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-startms-img-first.json")" "—" ""
    row "cold start image, read-only rootfs: POST deploy → first 200 ($N)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-img-ro.json")" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-httpd-run.json")" \
        "runc run -d, same rootfs: busybox httpd → first 200 in its netns"
    row "  of which POST /system/functions → 202" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-img-ro.json" post_ms)" "—" ""
    row "  of which instance start logged by swiftlet (start_ms)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-startms-img-ro.json")" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-httpd-create.json")" \
        "runc create, lo up, runc start, same rootfs → first 200"
    row "cold start image, own overlay layer: POST deploy → first 200 ($N)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-img-rw.json")" "—" ""
    row "  of which POST /system/functions → 202" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-img-rw.json" post_ms)" "—" ""
    row "  of which instance start logged by swiftlet (start_ms)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-startms-img-rw.json")" "—" ""
    row "bare container start+exit, image rootfs" "—" "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-busybox-true.json")" \
        "runc run, same rootfs: /bin/busybox true"

    # --------------------------------------------------------------------------
    # 4. Warm latency and throughput
    # --------------------------------------------------------------------------
    CMAX=1
    for c in $CONNECTIONS; do ((c > CMAX)) && CMAX=$c; done
    # The autoscaler aims at 10 calls in flight per instance (the default capacity target).
    SCALE_MAX=$(((CMAX + 9) / 10))
    ((SCALE_MAX > 100)) && SCALE_MAX=100

    run_wrk() { # name url connections [netns-pid] [function: wait for its replicas, record them]
        local name=$1 url=$2 c=$3 pid=${4:-} fn=${5:-} t pre=()
        t=$((c < 2 ? c : 2))
        # With a pid: run wrk inside that process's network namespace (the sandbox's loopback).
        [[ -z $pid ]] || pre=(nsenter --net="/proc/$pid/ns/net" --)
        "${pre[@]}" wrk -t"$t" -c"$c" -d"$WARMUP" --timeout 5s "$url" >/dev/null 2>&1 || true
        if [[ -n $fn ]]; then
            # The warm-up may have scaled the function up: measure once the new instances serve
            # and the count stopped changing.
            $PY "$HELPER" wait-replicas "$GATEWAY" "$DATA" "$fn" 30 || echo "$fn at $c connections: replicas not all available (or still changing) 30 s after the warm-up" >>"$NOTES"
            $PY "$HELPER" function-status "$GATEWAY" "$DATA" "$fn" >"$WORK/replicas-$name-c$c.before"
        fi
        "${pre[@]}" wrk -t"$t" -c"$c" -d"$DURATION" --timeout 5s --latency "$url" >"$WORK/wrk-$name-c$c.txt" 2>&1 || true
        [[ -z $fn ]] || $PY "$HELPER" function-status "$GATEWAY" "$DATA" "$fn" >"$WORK/replicas-$name-c$c.after"
        $PY "$HELPER" wrk-parse "$WORK/wrk-$name-c$c.txt" >"$WORK/wrk-$name-c$c.json"
    }

    for c in $CONNECTIONS; do
        log "warm: gateway alone (GET /healthz), $c connection(s)"
        run_wrk healthz "$GATEWAY/healthz" "$c"
    done

    for rt in "${RUNTIMES[@]}"; do
        s=$(short_of "$rt")
        fn="warm-$s"
        log "warm $rt: deploying $fn with the CLI (com.openfaas.scale.max=$SCALE_MAX)"
        "$BIN" deploy "$fn" --runtime "$rt" --code "$(code_of "$rt")" --label "com.openfaas.scale.max=$SCALE_MAX" \
            --data-dir "$DATA" --gateway "$GATEWAY" >&2
        $PY "$HELPER" wait-http "$GATEWAY/function/$fn?name=bench" 60 || die "$fn did not answer 200 within 60 s"
        dport=$($PY "$HELPER" free-port)
        log "warm $rt: direct runner on 127.0.0.1:$dport (no sandbox)"
        if [[ $rt == python3 ]]; then cmd=(/usr/bin/python3 -u -B "$(runner_of "$rt")"); else cmd=(/usr/bin/node "$(runner_of "$rt")"); fi
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TMPDIR=/tmp \
            SWIFTLET_FUNCTION_DIR="$(dir_of "$rt")" SWIFTLET_RUNNER_PORT="$dport" SWIFTLET_FUNCTION_NAME=direct HOSTNAME=direct \
            "${cmd[@]}" >"$WORK/direct-$rt.log" 2>&1 &
        DIRECT_PIDS+=($!)
        $PY "$HELPER" wait-http "http://127.0.0.1:$dport/?name=bench" 30 || die "the direct $rt runner did not answer"
        # With the warm pool the instance keeps its warm-RUNTIME-* container id.
        ipid=$($PY "$HELPER" instance-pid-of "/run/swiftlet/$SWIFTLET_KEY/runc" "$fn" "$rt") || die "cannot find the instance of $fn"
        for c in $CONNECTIONS; do
            log "warm $rt: wrk $c connection(s), $DURATION each: swiftlet, direct runner, inside the sandbox"
            run_wrk "swiftlet-$rt" "$GATEWAY/function/$fn?name=bench" "$c" "" "$fn"
            run_wrk "direct-$rt" "http://127.0.0.1:$dport/?name=bench" "$c"
            if kill -0 "$ipid" 2>/dev/null; then
                run_wrk "netns-$rt" "http://127.0.0.1:8080/?name=bench" "$c" "$ipid"
            else
                log "warm $rt: the instance (pid $ipid) is gone (scaled down?): no netns run at $c connection(s)"
                echo "wrk: error: no netns run, the instance had stopped" >"$WORK/wrk-netns-$rt-c$c.txt"
                $PY "$HELPER" wrk-parse "$WORK/wrk-netns-$rt-c$c.txt" >"$WORK/wrk-netns-$rt-c$c.json"
            fi
            row "warm $rt, $c conn: replicas before → after the measured run" "$(replicas_text "swiftlet-$rt" "$c")" "1 process" \
                "(com.openfaas.scale.max=$SCALE_MAX; the direct runner is one process)"
            wrk_rows "warm $rt, $c conn" "$WORK/wrk-swiftlet-$rt-c$c.json" \
                "$WORK/wrk-direct-$rt-c$c.json" "same runner on the host, direct loopback" \
                "$WORK/wrk-netns-$rt-c$c.json" "one swiftlet instance itself, wrk inside its netns (no gateway)"
        done
        kill -TERM "${DIRECT_PIDS[-1]}" 2>/dev/null || true
        wait "${DIRECT_PIDS[-1]}" 2>/dev/null || true
        unset 'DIRECT_PIDS[-1]'
    done

    fn=img-warm
    log "warm image: deploying $fn ($IMAGE_REF, writable layer) with the CLI"
    "$BIN" deploy "$fn" --image "$IMAGE_REF" --data-dir "$DATA" --gateway "$GATEWAY" >&2
    $PY "$HELPER" wait-http "$GATEWAY/function/$fn/" 60 || die "$fn did not answer 200 within 60 s"
    ipid=$($PY "$HELPER" instance-pid "/run/swiftlet/$SWIFTLET_KEY/runc" "$fn") || die "cannot find the instance of $fn"
    for c in $CONNECTIONS; do
        log "warm image: wrk $c connection(s), $DURATION each: swiftlet, busybox httpd inside the sandbox"
        run_wrk swiftlet-image "$GATEWAY/function/$fn/" "$c" "" "$fn"
        run_wrk netns-image "http://127.0.0.1:8080/" "$c" "$ipid"
        row "warm image (busybox httpd), $c conn: replicas before → after" "$(replicas_text swiftlet-image "$c")" "—" "(default com.openfaas.scale.max)"
        wrk_rows "warm image (busybox httpd), $c conn" "$WORK/wrk-swiftlet-image-c$c.json" \
            "$WORK/wrk-netns-image-c$c.json" "the swiftlet instance itself, wrk inside its netns (no gateway)"
    done

    for c in $CONNECTIONS; do
        hj="$WORK/wrk-healthz-c$c.json"
        row "gateway alone, GET /healthz, $c conn: p50 / p99" \
            "$($PY "$HELPER" fmt-wrk "$hj" p50) / $($PY "$HELPER" fmt-wrk "$hj" p99)" "—" "(no function: Hummingbird floor)"
        row "gateway alone, GET /healthz, $c conn: throughput" "$($PY "$HELPER" fmt-wrk "$hj" rps)" "—" "(no function: Hummingbird floor)"
    done

fi

# --------------------------------------------------------------------------
# 5. Async calls: acknowledged calls/s, completed calls/s, end-to-end latency with a callback
# --------------------------------------------------------------------------
POST_LUA="$ROOT/scripts/bench/post.lua"
[[ -r $POST_LUA ]] || die "$POST_LUA is missing"
log "async: deploying $ASYNC_FN (python3 hello) with com.swiftlet.async.concurrency=$ASYNC_CONCURRENCY, com.openfaas.scale.max=$ASYNC_SCALE_MAX"
"$BIN" deploy "$ASYNC_FN" --runtime python3 --code "$(code_of python3)" \
    --label "com.swiftlet.async.concurrency=$ASYNC_CONCURRENCY" --label "com.openfaas.scale.max=$ASYNC_SCALE_MAX" \
    --data-dir "$DATA" --gateway "$GATEWAY" >&2
$PY "$HELPER" wait-http "$GATEWAY/function/$ASYNC_FN?name=bench" 60 || die "$ASYNC_FN did not answer 200 within 60 s"

async_drain() { # what json: wait until the async queue of $ASYNC_FN is empty (bounded), note a stall
    $PY "$HELPER" async-wait-idle "$GATEWAY" "$DATA" "$ASYNC_FN" "$ASYNC_TIMEOUT" >"$2" \
        || echo "async $1: calls still queued or running $ASYNC_TIMEOUT s later: $(head -c 400 "$2")" >>"$NOTES"
}

post_wrk() { # name url connections expected-status [drain: the url queues calls]
    local name=$1 url=$2 c=$3 expect=$4 drain=${5:-} t
    t=$((c < 2 ? c : 2))
    wrk -t"$t" -c"$c" -d"$WARMUP" --timeout 5s -s "$POST_LUA" "$url" >"$WORK/warmup-$name-c$c.txt" 2>&1 || true
    $PY "$HELPER" wrk-parse "$WORK/warmup-$name-c$c.txt" "$expect" >"$WORK/async-warmup-$name-c$c.json"
    # Measure from an empty queue: the warm-up's calls would otherwise run during the measured run.
    [[ -z $drain ]] || async_drain "$name warm-up at $c connection(s)" "$WORK/async-drain-warmup-$name-c$c.json"
    $PY "$HELPER" wait-replicas "$GATEWAY" "$DATA" "$ASYNC_FN" 30 \
        || echo "$ASYNC_FN at $c connections ($name): replicas not all available (or still changing) 30 s after the warm-up" >>"$NOTES"
    $PY "$HELPER" function-status "$GATEWAY" "$DATA" "$ASYNC_FN" >"$WORK/replicas-$name-c$c.before"
    wrk -t"$t" -c"$c" -d"$ASYNC_DURATION" --timeout 5s --latency -s "$POST_LUA" "$url" >"$WORK/wrk-$name-c$c.txt" 2>&1 || true
    $PY "$HELPER" function-status "$GATEWAY" "$DATA" "$ASYNC_FN" >"$WORK/replicas-$name-c$c.after"
    $PY "$HELPER" wrk-parse "$WORK/wrk-$name-c$c.txt" "$expect" >"$WORK/wrk-$name-c$c.json"
    # The calls run while wrk enqueues; the rest of them now.
    [[ -z $drain ]] || async_drain "$name at $c connection(s)" "$WORK/async-drain-$name-c$c.json"
}

# A wrk run stopped with requests in flight may have queued calls it never saw acknowledged.
ASYNC_SLACK=0
for c in $ASYNC_CONNECTIONS; do
    log "async: wrk POST, $c connection(s), $ASYNC_DURATION each: sync /function/$ASYNC_FN, then /async-function/$ASYNC_FN (queue drained before and after)"
    post_wrk post-sync "$GATEWAY/function/$ASYNC_FN" "$c" 200
    post_wrk post-async "$GATEWAY/async-function/$ASYNC_FN" "$c" 202 drain
    ASYNC_SLACK=$((ASYNC_SLACK + 2 * c))
    log "async: $c connection(s): acknowledged $($PY "$HELPER" fmt-wrk "$WORK/wrk-post-async-c$c.json" rps), sync $($PY "$HELPER" fmt-wrk "$WORK/wrk-post-sync-c$c.json" rps); queue after the run: $($PY "$HELPER" fmt-async "$WORK/async-drain-post-async-c$c.json" drain)"
done

log "async: completed calls/s: $ASYNC_CALLS calls, sync then async, over $ASYNC_CONCURRENCY connections (bounded by $ASYNC_TIMEOUT s)"
$PY "$HELPER" sync-batch "$GATEWAY" "$ASYNC_FN" "$ASYNC_CALLS" "$ASYNC_CONCURRENCY" >"$WORK/async-sync-batch.json"
$PY "$HELPER" function-status "$GATEWAY" "$DATA" "$ASYNC_FN" >"$WORK/replicas-async-complete-c$ASYNC_CONCURRENCY.before"
$PY "$HELPER" async-complete "$GATEWAY" "$DATA" "$ASYNC_FN" "$ASYNC_CALLS" "$ASYNC_CONCURRENCY" "$ASYNC_TIMEOUT" >"$WORK/async-complete.json" \
    || log "async: the completed-calls run failed: $(head -c 600 "$WORK/async-complete.json")"
$PY "$HELPER" function-status "$GATEWAY" "$DATA" "$ASYNC_FN" >"$WORK/replicas-async-complete-c$ASYNC_CONCURRENCY.after"
log "async: completed $($PY "$HELPER" fmt-async "$WORK/async-complete.json" total), sync same client $($PY "$HELPER" fmt-async "$WORK/async-sync-batch.json" total)"

log "async: end-to-end, $ASYNC_E2E_RUNS single calls with a loopback callback receiver, interleaved with sync calls"
$PY "$HELPER" async-e2e "$GATEWAY" "$DATA" "$ASYNC_FN" "$ASYNC_E2E_RUNS" "$ASYNC_TIMEOUT" >"$WORK/async-e2e.json"
log "async: end-to-end $($PY "$HELPER" fmt-pct "$WORK/async-e2e.json"), sync $($PY "$HELPER" fmt-pct "$WORK/async-e2e.json" sync)"

log "async: every 202 must be a succeeded call"
$PY "$HELPER" async-audit "$GATEWAY" "$DATA" "$ASYNC_FN" "$ASYNC_SLACK" "$ASYNC_TIMEOUT" \
    "$WORK"/async-warmup-post-async-c*.json "$WORK"/wrk-post-async-c*.json "$WORK/async-complete.json" "$WORK/async-e2e.json" \
    >"$WORK/async-audit.json" || log "async: $(head -c 600 "$WORK/async-audit.json")"

SYNC_REF="sync POST /function/$ASYNC_FN → 200, same connections, same run"
for c in $ASYNC_CONNECTIONS; do
    row "async $ASYNC_FN, $c conn: replicas before → after the measured run" "$(replicas_text post-async "$c")" \
        "$(replicas_text post-sync "$c")" "(com.openfaas.scale.max=$ASYNC_SCALE_MAX; reference: the sync run)"
    wrk_rows "acknowledged: POST /async-function/$ASYNC_FN → 202, $c conn" \
        "$WORK/wrk-post-async-c$c.json" "$WORK/wrk-post-sync-c$c.json" "$SYNC_REF"
    row "  queue at the end of the run → empty" "$($PY "$HELPER" fmt-async "$WORK/async-drain-post-async-c$c.json" drain)" "—" \
        "(the calls run while wrk enqueues)"
done
ac="$WORK/async-complete.json"
row "completed: $ASYNC_CALLS async calls, first POST → all succeeded ($ASYNC_CONCURRENCY conn)" \
    "$($PY "$HELPER" fmt-async "$ac" total)" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-post-sync-c$ASYNC_CONCURRENCY.json" rps)" \
    "sync POST /function/$ASYNC_FN, wrk, $ASYNC_CONCURRENCY conn (above)"
row "" "" "$($PY "$HELPER" fmt-async "$WORK/async-sync-batch.json" total)" \
    "the same $ASYNC_CALLS calls, sync, same client, $ASYNC_CONCURRENCY connections"
row "  deployed with com.swiftlet.async.concurrency=$ASYNC_CONCURRENCY; replicas before → after" \
    "$(replicas_text async-complete "$ASYNC_CONCURRENCY")" "—" "(com.openfaas.scale.max=$ASYNC_SCALE_MAX, --async-workers 32)"
row "  of which enqueue: first POST → last 202" "$($PY "$HELPER" fmt-async "$ac" enqueue)" "—" "(the calls run meanwhile)"
row "  of which last 202 → last call finished" "$($PY "$HELPER" fmt-async "$ac" drain)" "—" \
    "(GET /system/async counts, polled every 50 ms; most queued: $($PY "$HELPER" fmt-field "$ac" max_queued))"
e2e="$WORK/async-e2e.json"
row "async end-to-end: POST → callback received (N=$ASYNC_E2E_RUNS, one at a time)" \
    "$($PY "$HELPER" fmt-pct "$e2e")" "$($PY "$HELPER" fmt-pct "$e2e" sync)" \
    "sync POST /function/$ASYNC_FN → 200, same client, interleaved"
row "  median (min–max)" "$($PY "$HELPER" fmt-cold "$e2e")" "$($PY "$HELPER" fmt-cold "$e2e" sync)" \
    "sync POST /function/$ASYNC_FN → 200, same client, interleaved"
row "  of which POST → 202" "$($PY "$HELPER" fmt-pct "$e2e" ack)" "—" ""
row "async calls of this run: every 202 is a succeeded call" "$($PY "$HELPER" fmt-async "$WORK/async-audit.json" audit)" "—" \
    "(GET /system/async?function=$ASYNC_FN counts)"

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (at end)" >>"$MACHINE"
for f in "$WORK"/ref-*.json "$WORK"/cold-*.json "$WORK"/zero-*.json "$WORK"/wrk-*.json "$WORK"/async-*.json; do
    [[ -f $f ]] || continue
    $PY "$HELPER" errors "$f" "$(basename "$f" .json)" >>"$NOTES"
done

# Stop swiftlet now, so the report can say whether it shut down cleanly.
stop_swiftlet "$POOL"

TARGETS="$WORK/targets.txt"
: >"$TARGETS"
if [[ $ONLY != async ]]; then
    for rt in "${RUNTIMES[@]}"; do
        $PY "$HELPER" targets "$WORK/ref-runc-echo.json" "$WORK/zero-$POOL-$rt.json" "$WORK/zero-$NOPOOL-$rt.json" \
            "scale from zero $rt" >>"$TARGETS"
    done
fi

REPORT="$WORK/report.txt"
{
    echo "Swiftlet benchmark"
    cat "$MACHINE"
    echo "total:     $(($(date +%s) - START_EPOCH)) s (including the build)"
    echo
    $PY "$HELPER" table "$RESULTS"
    echo
    if [[ -s $TARGETS ]]; then
        echo "Targets (scale from zero → first 200 against \`runc run\` of busybox echo, p50 $($PY "$HELPER" fmt-ms "$WORK/ref-runc-echo.json" p50) ms; percentiles nearest-rank over N=$COLD_RUNS):"
        sed 's/^/  - /' "$TARGETS"
        echo
    fi
    if [[ -s $NOTES ]]; then
        echo "Problems seen:"
        sed 's/^/  - /' "$NOTES"
    else
        echo "Problems seen: none (every call answered 200, or 202 when queued, every 202 succeeded, every swiftlet stopped cleanly)"
    fi
} >"$REPORT"
cat "$REPORT"
[[ -z ${BENCH_OUTPUT:-} ]] || cp "$REPORT" "$BENCH_OUTPUT"
