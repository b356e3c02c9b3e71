#!/usr/bin/env bash
# Swiftlet benchmark of the native provider's isolation tiers, hardened (gVisor's runsc) beside
# standard (runc), in ONE run on this machine, over loopback:
#   - cold start: POST /system/functions -> first 200 from /function/NAME -> DELETE, BENCH_RUNS
#     times per runtime (python3, node): standard with the warm pool (the default), standard on a
#     `--no-warm-pool` platform (the same work as hardened: a new sandbox per start) and hardened
#     (deploy field "isolation": "hardened"; never from the warm pool), with the logged start_ms;
#   - first call to a ready instance (N=1, deployed and ready, never called yet), and the second;
#   - warm: wrk --latency against /function/NAME at 1 and 8 connections, one instance per tier;
#   - idle memory per instance: after one call and BENCH_IDLE seconds idle, the cgroup v1 memory
#     usage of the instance's cgroup (and its anon + shmem part, memory.stat), and the PSS / RSS
#     summed over its host processes (runc: the runner; runsc: the sandbox (sentry), its ptrace
#     stubs and the gofer);
#   - reference, in the same run: `runc run` beside `runsc --network=host run` of /usr/bin/true in
#     a bare bundle (no Swiftlet), the floor each OCI runtime puts under a start.
# Standard is the reference of hardened: the table puts them side by side with the ratio.
#
#   SWIFTLET_BIN=.build-release/release/swiftlet scripts/bench-isolation.sh   # ~3-4 minutes
#   BENCH_RUNS (default 5)  BENCH_DURATION (wrk, default 10s)  BENCH_IDLE (s, default 5)
#   BENCH_NODE=0 (no node warm/memory rows)  BENCH_OUTPUT (copy of the report)  BENCH_KEEP=1
# Without SWIFTLET_BIN it uses .build-release/release/swiftlet, built first if missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPER="$ROOT/scripts/bench/bench_helper.py"
# shellcheck source=bench/warm.sh
source "$ROOT/scripts/bench/warm.sh"
PY=/usr/bin/python3
RUNS=${BENCH_RUNS:-5}
DURATION=${BENCH_DURATION:-10s}
IDLE=${BENCH_IDLE:-5}
NODE=${BENCH_NODE:-1}
WARMUP=2s
CONNECTIONS="1 8"
OUTPUT=${BENCH_OUTPUT:-}
RUNC=/usr/sbin/runc
RUNSC=/usr/bin/runsc
log() { printf '[bench-isolation %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"
[[ $IDLE =~ ^[0-9]+$ ]] || die "BENCH_IDLE must be a number of seconds"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must be a wrk duration such as 10s"
[[ -x $RUNC ]] || RUNC=$(command -v runc) || die "runc is missing"
[[ -x $RUNSC ]] || die "gVisor's runsc is missing ($RUNSC): the hardened tier needs it"
[[ -d /sys/fs/cgroup/memory ]] || die "this script reads cgroup v1 memory figures (/sys/fs/cgroup/memory)"
command -v wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

WORK=$(mktemp -d /tmp/swiftlet-bench-isolation.XXXXXX)
RESULTS="$WORK/results.tsv"
NOTES="$WORK/notes.txt"
: >"$RESULTS"
: >"$NOTES"
# measurement, standard, hardened, hardened ÷ standard, note
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$RESULTS"; }
declare -A PIDS=() URLS=() DATAS=() STOPPED=()
REF_STATE="$WORK/ref-state"

oci_ids() { # runtime root: the container ids under root
    $PY "$HELPER" oci-list "$1" "$2" 2>/dev/null || true
}

# Stops platform LABEL (SIGTERM, then waits up to 60 s) and checks that it left no sandbox.
stop() {
    local label=$1 pid=${PIDS[$1]} key left i
    [[ -n ${STOPPED[$label]:-} ]] && return 0
    STOPPED[$label]=1
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "swiftlet '$label': still running 60 s after SIGTERM, killed" >>"$NOTES"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    grep -q 'swiftlet stopped cleanly' "$WORK/swiftlet-$label.log" \
        || echo "swiftlet '$label': no 'stopped cleanly' in its log" >>"$NOTES"
    key=$($PY "$HELPER" swiftlet-key "${DATAS[$label]}")
    left=$( { oci_ids "$RUNC" "/run/swiftlet/$key/runc"; oci_ids "$RUNSC" "/run/swiftlet/$key/runsc"; } | grep -c . || true)
    if [[ $left != 0 ]]; then
        echo "swiftlet '$label': $left sandbox(es) left under /run/swiftlet/$key, force-deleted" >>"$NOTES"
        for id in $(oci_ids "$RUNC" "/run/swiftlet/$key/runc"); do "$RUNC" --root "/run/swiftlet/$key/runc" delete -f "$id" >/dev/null 2>&1 || true; done
        for id in $(oci_ids "$RUNSC" "/run/swiftlet/$key/runsc"); do "$RUNSC" --root "/run/swiftlet/$key/runsc" delete -force "$id" >/dev/null 2>&1 || true; done
    fi
    local leftovers=""
    [[ -e /run/swiftlet/$key ]] && leftovers+=" /run/swiftlet/$key"
    for dir in /sys/fs/cgroup/*/swiftlet/"$key"; do [[ -e $dir ]] && leftovers+=" $dir"; done
    [[ -z $leftovers ]] || echo "swiftlet '$label': left behind:$leftovers" >>"$NOTES"
    echo "swiftlet '$label': stopped; runc list and runsc list of /run/swiftlet/$key: $left left; run dir and cgroups: ${leftovers:+not }removed" >>"$WORK/stops.txt"
}

cleanup() {
    local rc=$? label id
    for label in "${!PIDS[@]}"; do stop "$label" || true; done
    for id in $(oci_ids "$RUNC" "$REF_STATE"); do "$RUNC" --root "$REF_STATE" delete -f "$id" >/dev/null 2>&1 || true; done
    for id in $(oci_ids "$RUNSC" "$REF_STATE"); do "$RUNSC" --root "$REF_STATE" delete -force "$id" >/dev/null 2>&1 || true; done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${SWIFTLET_BIN:-} ]]; then
    BIN=$SWIFTLET_BIN
else
    BIN="$ROOT/.build-release/release/swiftlet"
    if [[ ! -x $BIN ]]; then
        log "building the release binary (.build-release)"
        (cd "$ROOT" && nice -n 19 swift build -c release --build-path "$ROOT/.build-release" --product swiftlet) >"$WORK/build.log" 2>&1 \
            || { tail -30 "$WORK/build.log" >&2; die "the release build failed"; }
    fi
fi
[[ -x $BIN ]] || die "no swiftlet binary at $BIN"

start() { # label args...
    local label=$1 port
    shift
    port=$($PY "$HELPER" free-port)
    DATAS[$label]="$WORK/data-$label"
    URLS[$label]="http://127.0.0.1:$port"
    "$BIN" up --data-dir "${DATAS[$label]}" --port "$port" --bind 127.0.0.1 --no-metrics-port "$@" >"$WORK/swiftlet-$label.log" 2>&1 &
    PIDS[$label]=$!
    $PY "$HELPER" wait-http "${URLS[$label]}/healthz" 60 || { tail "$WORK/swiftlet-$label.log" >&2; die "swiftlet '$label' did not start"; }
    grep -q 'runsc ready' "$WORK/swiftlet-$label.log" \
        || { grep 'isolation tiers' "$WORK/swiftlet-$label.log" >&2 || true; die "swiftlet '$label' has no hardened tier"; }
    log "swiftlet '$label' up on ${URLS[$label]} ($*)"
}

cp "$ROOT/examples/hello-python/handler.py" "$WORK/handler.py"
cp "$ROOT/examples/hello-node/handler.js" "$WORK/handler.js"
code_of() { [[ $1 == python3 ]] && echo "$WORK/handler.py" || echo "$WORK/handler.js"; }
short() { [[ $1 == python3 ]] && echo py || echo node; }

# --- reference: the bare OCI runtimes, before any platform runs --------------------------------
log "reference: runc run / runsc run of /usr/bin/true in a bare bundle, $RUNS times each"
mkdir -p "$WORK/bundle" "$REF_STATE"
$PY "$HELPER" make-bundle "$WORK/bundle"
# runsc with the global flag Swiftlet gives it (host network mode).
printf '#!/bin/sh\nexec %s --network=host "$@"\n' "$RUNSC" >"$WORK/runsc-host"
chmod +x "$WORK/runsc-host"
timeout 120 $PY "$HELPER" cold-runc "$RUNC" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/true >"$WORK/ref-runc.json"
timeout 180 $PY "$HELPER" cold-runc "$WORK/runsc-host" "$REF_STATE" "$WORK/bundle" "$RUNS" /usr/bin/true >"$WORK/ref-runsc.json"

# --- cold start --------------------------------------------------------------------------------
start pool
start nopool --no-warm-pool
$PY "$HELPER" wait-pool "${URLS[pool]}" "${DATAS[pool]}" 120 >/dev/null || echo "the warm pool was not full within 120 s" >>"$NOTES"

cold() { # label runtime tier prefix
    log "cold start $2, $3, on '$1', $RUNS times"
    timeout $((RUNS * 100 + 120)) $PY "$HELPER" cold-swiftlet-tier "${URLS[$1]}" "${DATAS[$1]}" "$2" "$(code_of "$2")" "$RUNS" "$4" "$3" \
        >"$WORK/cold-$4.json" || echo "cold $4: the helper failed or timed out" >>"$NOTES"
    [[ -s $WORK/cold-$4.json ]] || echo '{"n": 0, "errors": ["no result"]}' >"$WORK/cold-$4.json"
    $PY "$HELPER" start-ms "$WORK/swiftlet-$1.log" "$4-" >"$WORK/start-$4.json"
}
for rt in python3 node; do
    s=$(short "$rt")
    cold pool "$rt" standard "pool-$s"
done
stop pool # the rest runs on the no-pool platform alone
for rt in python3 node; do
    s=$(short "$rt")
    cold nopool "$rt" standard "std-$s"
    cold nopool "$rt" hardened "hard-$s"
done

# --- warm latency and idle memory: one instance per tier ---------------------------------------
WARM_RUNTIMES=python3
[[ $NODE == 0 ]] || WARM_RUNTIMES="python3 node"
G=${URLS[nopool]}
for rt in $WARM_RUNTIMES; do
    s=$(short "$rt")
    for tier in standard hardened; do
        name="w-$s-$tier"
        "$BIN" deploy "$name" --runtime "$rt" --code "$(code_of "$rt")" --isolation "$tier" --label com.openfaas.scale.max=1 \
            --data-dir "${DATAS[nopool]}" --gateway "$G" >/dev/null
        # The instance starts at deploy: once it is ready, time the first call and the second.
        $PY "$HELPER" wait-replicas "$G" "${DATAS[nopool]}" "$name" 60 || die "$name did not become ready"
        for i in 1 2; do
            curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$G/function/$name?name=bench" >>"$WORK/first-$name.txt" || true
        done
        $PY "$HELPER" wait-http "$G/function/$name?name=bench" 60 || die "$name did not answer"
        log "$name served one call; idle ${IDLE}s, then its memory"
        sleep "$IDLE"
        $PY "$HELPER" instance-memory "${DATAS[nopool]}" "$name" >"$WORK/mem-$name.json" \
            || echo "memory of $name: $(cat "$WORK/mem-$name.json")" >>"$NOTES"
        warm_wrk "$G/function/$name?name=bench" "$name" "$name"
        "$BIN" remove "$name" --data-dir "${DATAS[nopool]}" --gateway "$G" >/dev/null || echo "remove $name failed" >>"$NOTES"
    done
done
stop nopool

# --- the table ---------------------------------------------------------------------------------
fc() { $PY "$HELPER" fmt-cold "$@"; }
ratio() { $PY "$HELPER" ratio "$@"; }
for rt in python3 node; do
    s=$(short "$rt")
    row "cold start $rt: new sandbox (standard: --no-warm-pool)" "$(fc "$WORK/cold-std-$s.json")" "$(fc "$WORK/cold-hard-$s.json")" \
        "$(ratio "$WORK/cold-hard-$s.json" median "$WORK/cold-std-$s.json" median)" "deploy → first 200"
    row "cold start $rt: of which instance start (start_ms)" "$(fc "$WORK/start-std-$s.json")" "$(fc "$WORK/start-hard-$s.json")" \
        "$(ratio "$WORK/start-hard-$s.json" median "$WORK/start-std-$s.json" median)" "logged by Swiftlet"
    row "cold start $rt: standard from the warm pool (default)" "$(fc "$WORK/cold-pool-$s.json")" "never pooled: row above" \
        "$(ratio "$WORK/cold-hard-$s.json" median "$WORK/cold-pool-$s.json" median)" \
        "pool hits $($PY "$HELPER" fmt-field "$WORK/cold-pool-$s.json" pool_hits)/$RUNS"
done
# "first second" call times of a ready instance, in ms ("n/a" unless both answered 200).
calls() {
    awk '$1 != 200 { bad = 1 } { t[NR] = $2 * 1000 } END { if (bad || NR < 2) print "n/a"; else printf "%.1f ms (2nd: %.1f ms)\n", t[1], t[2] }' "$1" 2>/dev/null || echo n/a
}
first_ratio() {
    awk 'NR == 1 && FILENAME == ARGV[1] { a = $2 } NR == FNR { next } FNR == 1 { b = $2 } END { if (a > 0 && b > 0) { r = b / a; printf(r < 10 ? "×%.2f\n" : "×%.0f\n", r) } else print "n/a" }' "$1" "$2" 2>/dev/null || echo n/a
}
for rt in $WARM_RUNTIMES; do
    s=$(short "$rt")
    row "first call to a ready $rt instance" "$(calls "$WORK/first-w-$s-standard.txt")" "$(calls "$WORK/first-w-$s-hardened.txt")" \
        "$(first_ratio "$WORK/first-w-$s-standard.txt" "$WORK/first-w-$s-hardened.txt")" "N=1, after deploy, before any call"
done
for rt in $WARM_RUNTIMES; do
    s=$(short "$rt")
    std="w-$s-standard" hard="w-$s-hardened"
    for c in $CONNECTIONS; do
        for field in p50 p99; do
            row "warm $rt, $c conn: $field" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$std-$c.json" $field)" \
                "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$hard-$c.json" $field)" \
                "$(ratio "$WORK/wrk-$hard-$c.json" $field "$WORK/wrk-$std-$c.json" $field)" ""
        done
        row "warm $rt, $c conn: req/s" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$std-$c.json" rps)" \
            "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$hard-$c.json" rps)" \
            "$(ratio "$WORK/wrk-$hard-$c.json" rps "$WORK/wrk-$std-$c.json" rps)" ""
        row "warm $rt, $c conn: errors" "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$std-$c.json" errors)" \
            "$($PY "$HELPER" fmt-wrk "$WORK/wrk-$hard-$c.json" errors)" "" "non-2xx, socket / requests"
    done
done
for rt in $WARM_RUNTIMES; do
    s=$(short "$rt")
    std="$WORK/mem-w-$s-standard.json" hard="$WORK/mem-w-$s-hardened.json"
    row "idle memory $rt: cgroup memory.usage_in_bytes" "$($PY "$HELPER" fmt-mem "$std" cgroup)" "$($PY "$HELPER" fmt-mem "$hard" cgroup)" \
        "$(ratio "$hard" cgroup_bytes "$std" cgroup_bytes)" "cgroup v1, after 1 call + ${IDLE}s idle"
    row "idle memory $rt: of which anon + shmem" "$($PY "$HELPER" fmt-mem "$std" private)" "$($PY "$HELPER" fmt-mem "$hard" private)" \
        "$(ratio "$hard" cgroup_private_bytes "$std" cgroup_private_bytes)" "memory.stat total_rss + total_shmem"
    row "idle memory $rt: PSS of its host processes" "$($PY "$HELPER" fmt-mem "$std" pss)" "$($PY "$HELPER" fmt-mem "$hard" pss)" \
        "$(ratio "$hard" pss_kb "$std" pss_kb)" "smaps_rollup Pss, summed"
    row "idle memory $rt: RSS of its host processes" "$($PY "$HELPER" fmt-mem "$std" rss)" "$($PY "$HELPER" fmt-mem "$hard" rss)" \
        "$(ratio "$hard" rss_kb "$std" rss_kb)" "VmRSS summed (shared pages counted per process)"
done
row "reference: OCI runtime alone, run of /usr/bin/true" "$(fc "$WORK/ref-runc.json")" "$(fc "$WORK/ref-runsc.json")" \
    "$(ratio "$WORK/ref-runsc.json" median "$WORK/ref-runc.json" median)" "bare bundle: runc run vs runsc --network=host run"

# Errors the results recorded, and warnings Swiftlet logged.
for f in "$WORK"/cold-*.json "$WORK"/wrk-*.json "$WORK"/mem-*.json "$WORK"/ref-*.json; do
    [[ -e $f ]] || continue
    $PY "$HELPER" errors "$f" "$(basename "$f" .json)" >>"$NOTES" 2>/dev/null || true
done
for label in pool nopool; do
    grep -E '\b(error|critical|warning)\b' "$WORK/swiftlet-$label.log" | head -n 10 | sed "s/^/swiftlet '$label' log: /" >>"$NOTES" || true
done

{
    echo "swiftlet bench-isolation, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runc $("$RUNC" --version | head -n1 | cut -d' ' -f3), $("$RUNSC" --version | head -n1), $(uname -r), cgroup v1"
    echo "cold start = POST /system/functions -> first 200 from /function/NAME -> DELETE; median (min-max) of $RUNS"
    echo "warm = wrk $DURATION (after $WARMUP warm-up) --latency on /function/NAME?name=bench, one instance (scale.max=1)"
    echo "memory = one instance after one call and ${IDLE}s idle; ratios: hardened ÷ standard (medians)"
    echo
    $PY "$HELPER" table-cols "$RESULTS" "measurement" "standard (runc)" "hardened (gVisor runsc)" "hardened ÷ standard" "note"
    echo
    cat "$WORK/stops.txt"
    if [[ -s $NOTES ]]; then
        echo "notes:"
        sed 's/^/  /' "$NOTES"
    else
        echo "notes: no errors, no warnings"
    fi
} | tee "$WORK/report.txt"
[[ -z $OUTPUT ]] || cp "$WORK/report.txt" "$OUTPUT"
