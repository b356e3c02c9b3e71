#!/usr/bin/env bash
# Runs every test: the runners' contract tests (pytest) and the Swift suites, including the
# end-to-end tests that start real runc sandboxes and Docker containers (so: as root, on Linux).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The Docker provider's tests use their own engine (docker.io from Debian), stopped when we exit.
scripts/test-dockerd.sh start
trap 'scripts/test-dockerd.sh stop' EXIT
echo "==> runner tests (pytest)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider runners/tests
echo "==> swift build --build-tests"
build_log=$(mktemp /tmp/swiftlet-build.XXXXXX)
if ! swift build --build-tests >"$build_log" 2>&1; then
    tail -60 "$build_log" >&2
    echo "error: the build failed (full log: $build_log)" >&2
    exit 1
fi
grep -E "warning: |error: " "$build_log" | grep -v "swift-distributed-tracing" || true
rm -f "$build_log"
echo "==> swift test"
swift test --skip-build
echo "==> API fuzzing (schemathesis against docs/openapi.yaml)"
scripts/fuzz-api.sh "$(swift build --show-bin-path)/swiftlet"
