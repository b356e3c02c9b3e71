#!/usr/bin/env bash
# Runs the Docker engine the tests of the Docker provider use: Debian's docker.io, with its own
# socket, data and state directories (it never touches a system dockerd), no default bridge and
# no iptables rules (this machine has no private-range networks to give), and gVisor's runsc
# registered as a runtime with --network=host (so the hardened tier serves on the container's own
# loopback). Usage: scripts/test-dockerd.sh start|stop|restart|env
#   start    install docker.io and runsc if missing, start the engine, wait until it answers
#   stop     stop it (SIGTERM, then SIGKILL after 20 s) and its containerd
#   env      print the DOCKER_HOST the tests use
set -euo pipefail

root=/run/swiftlet-test-docker
socket=$root/docker.sock
pidfile=$root/dockerd.pid
data=/var/lib/swiftlet-test-docker
host="unix://$socket"

install() {
    local missing=()
    for package in docker.io runsc; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

running() {
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start() {
    install
    if running && curl -sf --unix-socket "$socket" http://docker/_ping >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$root" "$data"
    cat >"$root/daemon.json" <<JSON
{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host"]}}}
JSON
    echo "==> starting the test Docker engine at $host"
    # dockerd must not inherit the caller's descriptors: a test runner waiting for this script's
    # pipes to close would otherwise wait as long as the engine runs.
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
        done
        exec setsid dockerd --host "$host" --data-root "$data" --exec-root "$root/exec" --pidfile "$pidfile" \
        --config-file "$root/daemon.json" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        --containerd-namespace swiftlet-test --containerd-plugins-namespace swiftlet-test-plugins \
        >"$root/dockerd.log" 2>&1 </dev/null
    ) &
    for _ in $(seq 1 150); do
        if curl -sf --unix-socket "$socket" http://docker/_ping >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "error: the test Docker engine did not answer within 30 s; its log:" >&2
    tail -30 "$root/dockerd.log" >&2
    exit 1
}

stop() {
    if ! running; then
        return 0
    fi
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
    # The containerd dockerd started for itself goes with it.
    pkill -f "containerd --config $root/exec/containerd/containerd.toml" 2>/dev/null || true
    rm -f "$pidfile"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    env) echo "$host" ;;
    *) echo "usage: $0 start|stop|restart|env" >&2; exit 2 ;;
esac
