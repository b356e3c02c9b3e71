#!/usr/bin/env bash
# Installs what Swiftlet needs on Debian 12 (as root): the OCI runtimes (runc; runsc for the
# hardened tier), the language runtimes the python3 and node runners use, and the C libraries
# the build links. Safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "error: run this as root (it uses apt-get and Swiftlet creates sandboxes): sudo $0" >&2
    exit 1
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift 6 toolchain is not on PATH; install it from swift.org (Swift 6.1 or newer) and run this again" >&2
    exit 1
fi

packages=(runc runsc python3 python3-pip libsqlite3-dev zlib1g-dev tar gzip ca-certificates openssl apache2-utils python3-pytest busybox-static docker-registry)
# node: keep an installed one (any version >= 18), else take Debian's.
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in /usr/bin/runc /usr/bin/python3; do
    [ -x "$tool" ] || { echo "error: $tool is missing after installation" >&2; exit 1; }
done
node_path=$(command -v node)
if [ "$node_path" != /usr/bin/node ]; then
    echo "error: node is at $node_path; Swiftlet's sandboxes see the host's /usr only, so node must be /usr/bin/node (apt-get install nodejs)" >&2
    exit 1
fi
# debugpy: the python debugger of debug mode (functions still run without it; the runner says so).
if ! /usr/bin/python3 -c "import debugpy" >/dev/null 2>&1; then
    echo "==> pip install debugpy (for debug mode)"
    /usr/bin/python3 -m pip install -q --break-system-packages --root-user-action=ignore debugpy \
        || echo "warning: cannot install debugpy; python functions in debug mode run without a debugger" >&2
fi
echo "==> dependencies ready: $(runc --version | head -1), $(/usr/bin/python3 --version), node $(/usr/bin/node --version)"
