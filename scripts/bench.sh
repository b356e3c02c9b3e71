#!/usr/bin/env bash
# Swiftlet benchmark: cold start, warm latency and throughput, each beside a reference
# measured in the same run on the same machine.
#
# Usage (as root, from anywhere):
#   scripts/bench.sh
#   SWIFTLET_BIN=/path/to/swiftlet scripts/bench.sh     # skip the release build
#
# Knobs (environment):
#   SWIFTLET_BIN        use this binary instead of building .build-release/release/swiftlet
#   BENCH_RUNS          cold starts per measurement (default 5)
#   BENCH_DURATION      wrk duration of each measured load run (default 10s)
#   BENCH_WARMUP        wrk warm-up before each measured run, discarded (default 2s)
#   BENCH_CONNECTIONS   wrk connection counts (default "1 16"; threads = min(2, connections))
#   BENCH_NODE          1 (default) also measures the node function, 0 skips it
#   BENCH_OUTPUT        also write the final report (machine + table) to this file
#   BENCH_KEEP          1 keeps the work directory (logs, wrk outputs) instead of removing it
#
# What it does:
#   1. builds the release binary (nice -n 19) unless SWIFTLET_BIN is set; installs wrk and
#      busybox-static if missing;
#   2. starts `swiftlet up` on a free 127.0.0.1 port with a temporary data directory;
#   3. cold start: POST /system/functions -> first 200 from /function/NAME -> DELETE, BENCH_RUNS
#      times per runtime; references: the same runner spawned on the host (-> first 200), and
#      `runc run` of a bare OCI bundle (read-only binds of host /usr) running /usr/bin/true,
#      python3 -c pass and node -e 0;
#   3b. image functions: builds a busybox-static httpd image as a `docker save` tarball
#      (localhost/bench-httpd:1), imports it (POST /system/images/import, timed), starts one
#      instance to unpack it, then deploy -> first 200 -> DELETE, BENCH_RUNS times with
#      readOnlyRootFilesystem true and false (own overlay layer); references on the SAME unpacked
#      rootfs (DATA/images/rootfs/<hex>): `runc run -d` of busybox httpd -> first 200 inside its
#      netns, `runc create` + loopback up + `runc start` -> first 200, `runc run` of busybox true;
#   4. warm: wrk --latency against /function/NAME, against the same runner started on the
#      host outside any sandbox (same handler file), and against the swiftlet instance itself
#      from inside its network namespace (nsenter; no gateway), at each connection count;
#      plus the gateway alone (GET /healthz); the image function (one instance, writable
#      layer) through the gateway beside wrk inside its netns against busybox httpd itself;
#   5. prints the table. Everything listens on 127.0.0.1 only; the EXIT trap stops swiftlet
#      (SIGTERM, then waits), the direct runners and removes temporary files and containers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPER="$ROOT/scripts/bench/bench_helper.py"
PY=/usr/bin/python3
RUNC=/usr/bin/runc
RUNS=${BENCH_RUNS:-5}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-"1 16"}
WITH_NODE=${BENCH_NODE:-1}
KEEP=${BENCH_KEEP:-0}

START_EPOCH=$(date +%s)
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (swiftlet up and runc need it)"
[[ -x $RUNC ]] || die "$RUNC is missing (apt-get install runc)"
[[ -x $PY ]] || die "$PY is missing"
[[ -x /usr/bin/node ]] || { log "/usr/bin/node is missing: skipping node"; WITH_NODE=0; }

WORK=$(mktemp -d /tmp/swiftlet-bench.XXXXXX)
chmod 755 "$WORK"
REF_STATE="$WORK/runc-state"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
BUILD_PID=""
SWIFTLET_PID=""
SWIFTLET_KEY=""
DIRECT_PIDS=()

cleanup() {
    local rc=$?
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
    if [[ -n $SWIFTLET_PID ]] && kill -0 "$SWIFTLET_PID" 2>/dev/null; then
        log "stopping swiftlet (SIGTERM to pid $SWIFTLET_PID)"
        kill -TERM "$SWIFTLET_PID" 2>/dev/null
        for _ in $(seq 1 300); do
            kill -0 "$SWIFTLET_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SWIFTLET_PID" 2>/dev/null; then
            log "swiftlet did not stop within 30 s: SIGKILL"
            kill -KILL "$SWIFTLET_PID" 2>/dev/null
        fi
        wait "$SWIFTLET_PID" 2>/dev/null
    fi
    # Containers swiftlet may have left (only if it was killed) and the reference ones.
    if [[ -n $SWIFTLET_KEY ]]; then
        local sroot="/run/swiftlet/$SWIFTLET_KEY/runc"
        if [[ -d $sroot ]]; then
            for id in $("$RUNC" --root "$sroot" list --quiet 2>/dev/null); do
                log "removing leftover swiftlet container $id"
                "$RUNC" --root "$sroot" delete -f "$id" >/dev/null 2>&1
            done
        fi
        if [[ -d /run/swiftlet/$SWIFTLET_KEY ]] && ! grep -q " /run/swiftlet/$SWIFTLET_KEY" /proc/self/mountinfo; then
            rm -rf "/run/swiftlet/$SWIFTLET_KEY"
        fi
    fi
    if [[ -d $REF_STATE ]]; then
        for id in $("$RUNC" --root "$REF_STATE" list --quiet 2>/dev/null); do
            "$RUNC" --root "$REF_STATE" delete -f "$id" >/dev/null 2>&1
        done
    fi
    if [[ $rc -ne 0 && -f $WORK/swiftlet.log ]]; then
        log "last lines of the swiftlet log:"
        tail -n 30 "$WORK/swiftlet.log" >&2
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
    echo "python3:   $($PY --version 2>&1 | cut -d' ' -f2); node: $( [[ -x /usr/bin/node ]] && /usr/bin/node --version || echo none); wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); busybox: $(dpkg-query -W -f '${Package} ${Version}' busybox-static 2>/dev/null)"
    echo "swiftlet:  $("$BIN" --version 2>/dev/null || echo '?') ($BIN), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
    echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (at start)"
    echo "settings:  runs=$RUNS, wrk duration=$DURATION (warm-up $WARMUP), connections=$CONNECTIONS, threads=min(2, connections)"
} >"$MACHINE"
cat "$MACHINE" >&2

row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# --------------------------------------------------------------------------
# Swiftlet
# --------------------------------------------------------------------------
DATA="$WORK/data"
PORT=$($PY "$HELPER" free-port)
GATEWAY="http://127.0.0.1:$PORT"
SWIFTLET_KEY=$($PY "$HELPER" swiftlet-key "$DATA")
log "starting swiftlet up on $GATEWAY (data $DATA)"
"$BIN" up --data-dir "$DATA" --port "$PORT" --bind 127.0.0.1 >"$WORK/swiftlet.log" 2>&1 &
SWIFTLET_PID=$!
$PY "$HELPER" wait-http "$GATEWAY/healthz" 60 || die "swiftlet did not answer /healthz within 60 s"

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

# --------------------------------------------------------------------------
# 1. Cold start
# --------------------------------------------------------------------------
log "cold start references: bare runc bundle"
mkdir -p "$WORK/bundle" "$REF_STATE"
$PY "$HELPER" make-bundle "$WORK/bundle"
$PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/true >"$WORK/cold-runc-true.json"
$PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/python3 -c pass >"$WORK/cold-runc-python3.json"
$PY "$HELPER" cold-host "$RUNS" /usr/bin/python3 -c pass >"$WORK/cold-host-python3.json"
if [[ $WITH_NODE == 1 ]]; then
    $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/node -e 0 >"$WORK/cold-runc-node.json"
    $PY "$HELPER" cold-host "$RUNS" /usr/bin/node -e 0 >"$WORK/cold-host-node.json"
fi

N="N=$RUNS, median (min–max)"
for rt in "${RUNTIMES[@]}"; do
    s=$(short_of "$rt")
    log "cold start $rt: swiftlet deploy -> first 200 -> remove, $RUNS times"
    $PY "$HELPER" cold-swiftlet "$GATEWAY" "$DATA" "$rt" "$(code_of "$rt")" "$RUNS" "cold-$s" >"$WORK/cold-swiftlet-$rt.json"
    $PY "$HELPER" start-ms "$WORK/swiftlet.log" "cold-$s" >"$WORK/cold-startms-$rt.json"
    log "cold start $rt: the same runner spawned on the host -> first 200, $RUNS times"
    $PY "$HELPER" cold-direct "$rt" "$(runner_of "$rt")" "$(dir_of "$rt")" "$RUNS" >"$WORK/cold-direct-$rt.json"
    if [[ $rt == python3 ]]; then refcmd="python3 -c pass"; else refcmd="node -e 0"; fi
    row "cold start $rt hello: POST deploy → first 200 ($N)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-$rt.json")" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-direct-$rt.json")" \
        "same runner spawned on the host (no sandbox) → first 200"
    row "  of which POST /system/functions → 202" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-swiftlet-$rt.json" post_ms)" "—" ""
    row "  of which instance start logged by swiftlet (start_ms)" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-startms-$rt.json")" \
        "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-$rt.json")" \
        "runc run, bare bundle: $refcmd"
    row "  $refcmd, no container" "—" "$($PY "$HELPER" fmt-cold "$WORK/cold-host-$rt.json")" "host exec"
done
row "bare container start+exit" "—" "$($PY "$HELPER" fmt-cold "$WORK/cold-runc-true.json")" "runc run, bare bundle: /usr/bin/true"

# --------------------------------------------------------------------------
# 1b. Image functions: import, cold start with a warm store, references on the same rootfs
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
$PY "$HELPER" start-ms "$WORK/swiftlet.log" img-first >"$WORK/cold-startms-img-first.json"
IMG_ROOTFS=$($PY "$HELPER" image-rootfs "$DATA") || die "cannot find the unpacked rootfs of $IMAGE_REF"
for mode in ro rw; do
    if [[ $mode == ro ]]; then ro=true; else ro=false; fi
    log "image cold start, readOnlyRootFilesystem $ro: deploy -> first 200 -> remove, $RUNS times"
    $PY "$HELPER" cold-swiftlet-image "$GATEWAY" "$DATA" "$IMAGE_REF" "$ro" "$RUNS" "img-$mode" >"$WORK/cold-swiftlet-img-$mode.json"
    $PY "$HELPER" start-ms "$WORK/swiftlet.log" "img-$mode" >"$WORK/cold-startms-img-$mode.json"
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
# 2. Warm latency and throughput
# --------------------------------------------------------------------------
run_wrk() { # name url connections [netns-pid]
    local name=$1 url=$2 c=$3 t pre=()
    t=$((c < 2 ? c : 2))
    # With a pid: run wrk inside that process's network namespace (the sandbox's loopback).
    [[ -z ${4:-} ]] || pre=(nsenter --net="/proc/$4/ns/net" --)
    "${pre[@]}" wrk -t"$t" -c"$c" -d"$WARMUP" --timeout 5s "$url" >/dev/null 2>&1 || true
    "${pre[@]}" wrk -t"$t" -c"$c" -d"$DURATION" --timeout 5s --latency "$url" >"$WORK/wrk-$name-c$c.txt" 2>&1 || true
    $PY "$HELPER" wrk-parse "$WORK/wrk-$name-c$c.txt" >"$WORK/wrk-$name-c$c.json"
}

for c in $CONNECTIONS; do
    log "warm: gateway alone (GET /healthz), $c connection(s)"
    run_wrk healthz "$GATEWAY/healthz" "$c"
done

for rt in "${RUNTIMES[@]}"; do
    s=$(short_of "$rt")
    fn="warm-$s"
    log "warm $rt: deploying $fn with the CLI"
    "$BIN" deploy "$fn" --runtime "$rt" --code "$(code_of "$rt")" --data-dir "$DATA" --gateway "$GATEWAY" >&2
    $PY "$HELPER" wait-http "$GATEWAY/function/$fn?name=bench" 60 || die "$fn did not answer 200 within 60 s"
    dport=$($PY "$HELPER" free-port)
    log "warm $rt: direct runner on 127.0.0.1:$dport (no sandbox)"
    if [[ $rt == python3 ]]; then cmd=(/usr/bin/python3 -u -B "$(runner_of "$rt")"); else cmd=(/usr/bin/node "$(runner_of "$rt")"); fi
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TMPDIR=/tmp \
        SWIFTLET_FUNCTION_DIR="$(dir_of "$rt")" SWIFTLET_RUNNER_PORT="$dport" SWIFTLET_FUNCTION_NAME=direct HOSTNAME=direct \
        "${cmd[@]}" >"$WORK/direct-$rt.log" 2>&1 &
    DIRECT_PIDS+=($!)
    $PY "$HELPER" wait-http "http://127.0.0.1:$dport/?name=bench" 30 || die "the direct $rt runner did not answer"
    ipid=$($PY "$HELPER" instance-pid "/run/swiftlet/$SWIFTLET_KEY/runc" "$fn") || die "cannot find the instance of $fn"
    for c in $CONNECTIONS; do
        log "warm $rt: wrk $c connection(s), $DURATION each: swiftlet, direct runner, inside the sandbox"
        run_wrk "swiftlet-$rt" "$GATEWAY/function/$fn?name=bench" "$c"
        run_wrk "direct-$rt" "http://127.0.0.1:$dport/?name=bench" "$c"
        run_wrk "netns-$rt" "http://127.0.0.1:8080/?name=bench" "$c" "$ipid"
        sj="$WORK/wrk-swiftlet-$rt-c$c.json"
        dj="$WORK/wrk-direct-$rt-c$c.json"
        nj="$WORK/wrk-netns-$rt-c$c.json"
        ref="same runner on the host, direct loopback"
        nref="the swiftlet instance itself, wrk inside its netns (no gateway)"
        for f in p50 p99 rps errors; do
            case $f in
                p50) what="p50 latency" ;; p99) what="p99 latency" ;; rps) what="throughput" ;; errors) what="errors / requests" ;;
            esac
            row "warm $rt, $c conn: $what" "$($PY "$HELPER" fmt-wrk "$sj" $f)" "$($PY "$HELPER" fmt-wrk "$dj" $f)" "$ref"
            row "" "" "$($PY "$HELPER" fmt-wrk "$nj" $f)" "$nref"
        done
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
    run_wrk swiftlet-image "$GATEWAY/function/$fn/" "$c"
    run_wrk netns-image "http://127.0.0.1:8080/" "$c" "$ipid"
    sj="$WORK/wrk-swiftlet-image-c$c.json"
    nj="$WORK/wrk-netns-image-c$c.json"
    for f in p50 p99 rps errors; do
        case $f in
            p50) what="p50 latency" ;; p99) what="p99 latency" ;; rps) what="throughput" ;; errors) what="errors / requests" ;;
        esac
        row "warm image (busybox httpd), $c conn: $what" "$($PY "$HELPER" fmt-wrk "$sj" $f)" "$($PY "$HELPER" fmt-wrk "$nj" $f)" \
            "the swiftlet instance itself, wrk inside its netns (no gateway)"
    done
done

for c in $CONNECTIONS; do
    hj="$WORK/wrk-healthz-c$c.json"
    row "gateway alone, GET /healthz, $c conn: p50 / p99" \
        "$($PY "$HELPER" fmt-wrk "$hj" p50) / $($PY "$HELPER" fmt-wrk "$hj" p99)" "—" "(no function: Hummingbird floor)"
    row "gateway alone, GET /healthz, $c conn: throughput" "$($PY "$HELPER" fmt-wrk "$hj" rps)" "—" "(no function: Hummingbird floor)"
done

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (at end)" >>"$MACHINE"
NOTES="$WORK/notes.txt"
: >"$NOTES"
for f in "$WORK"/cold-*.json "$WORK"/wrk-*.json; do
    $PY "$HELPER" errors "$f" "$(basename "$f" .json)" >>"$NOTES"
done
grep -E '\b(error|critical|warning)\b' "$WORK/swiftlet.log" | head -n 20 | sed 's/^/swiftlet log: /' >>"$NOTES" || true

# Stop swiftlet now, so the report can say whether it shut down cleanly.
kill -TERM "$SWIFTLET_PID"
for _ in $(seq 1 300); do kill -0 "$SWIFTLET_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SWIFTLET_PID" 2>/dev/null; then
    echo "swiftlet did not stop within 30 s of SIGTERM" >>"$NOTES"
else
    wait "$SWIFTLET_PID" 2>/dev/null || echo "swiftlet exited with a non-zero status after SIGTERM" >>"$NOTES"
    SWIFTLET_PID=""
    grep -q "stopped cleanly" "$WORK/swiftlet.log" || echo "swiftlet log has no 'stopped cleanly' line" >>"$NOTES"
    left=$("$RUNC" --root "/run/swiftlet/$SWIFTLET_KEY/runc" list --quiet 2>/dev/null | wc -l)
    [[ $left -eq 0 ]] || echo "$left swiftlet container(s) left after shutdown" >>"$NOTES"
fi

REPORT="$WORK/report.txt"
{
    echo "Swiftlet benchmark"
    cat "$MACHINE"
    echo "total:     $(($(date +%s) - START_EPOCH)) s (including the build)"
    echo
    $PY "$HELPER" table "$RESULTS"
    echo
    if [[ -s $NOTES ]]; then
        echo "Problems seen:"
        sed 's/^/  - /' "$NOTES"
    else
        echo "Problems seen: none (every call answered 200, swiftlet stopped cleanly)"
    fi
} >"$REPORT"
cat "$REPORT"
[[ -z ${BENCH_OUTPUT:-} ]] || cp "$REPORT" "$BENCH_OUTPUT"
