# Shared by the benchmark scripts (sourced, not run): the warm-call measurement.
#
#   warm_wrk URL PREFIX LABEL
# runs wrk against URL at each of $CONNECTIONS connections: $WARMUP of warm-up, then $DURATION
# with --latency into $WORK/wrk-PREFIX-C.txt, parsed by the helper into $WORK/wrk-PREFIX-C.json.
# Needs WORK, WARMUP, DURATION, CONNECTIONS, PY, HELPER and a `log` function.
warm_wrk() {
    local url=$1 prefix=$2 label=$3 c t
    for c in $CONNECTIONS; do
        t=$((c < 2 ? c : 2))
        log "warm $label, $c connection(s)"
        wrk -t"$t" -c"$c" -d"$WARMUP" --timeout 5s "$url" >/dev/null 2>&1 || true
        wrk -t"$t" -c"$c" -d"$DURATION" --timeout 5s --latency "$url" >"$WORK/wrk-$prefix-$c.txt" 2>&1 || true
        $PY "$HELPER" wrk-parse "$WORK/wrk-$prefix-$c.txt" >"$WORK/wrk-$prefix-$c.json"
    done
}
