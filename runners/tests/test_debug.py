"""Debug mode of the python3 runner: with $SWIFTLET_DEBUGPY_PORT it starts debugpy when it is
importable and keeps serving (saying why) when it is not. All traffic goes to 127.0.0.1 only.
The node runner needs nothing: the platform starts node with --inspect.
Run with:  python3 -m pytest -q runners/tests
"""

import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_runners import PYTHON, Runner, free_port  # noqa: E402


def debugpy_importable():
    import subprocess
    return subprocess.run([PYTHON, "-c", "import debugpy"], capture_output=True).returncode == 0


def test_missing_debugpy_is_logged_and_the_runner_serves(tmp_path):
    # A package named debugpy that fails to import stands for a missing one.
    fake = tmp_path / "fake"
    (fake / "debugpy").mkdir(parents=True)
    (fake / "debugpy" / "__init__.py").write_text("raise ImportError('No module named debugpy')\n")
    runner = Runner("python", tmp_path / "work", env={"SWIFTLET_DEBUGPY_PORT": str(free_port()), "PYTHONPATH": str(fake)})
    runner.start()
    try:
        status, _, body = runner.request("POST", "/", b"hi")
        assert status == 200
        assert "debugger is unavailable" in runner.stderr()
        assert "install debugpy" in runner.stderr()
    finally:
        runner.stop()


def test_bad_port_is_logged_and_the_runner_serves(tmp_path):
    runner = Runner("python", tmp_path, env={"SWIFTLET_DEBUGPY_PORT": "not-a-port"})
    runner.start()
    try:
        assert runner.request("GET", "/_/health")[0] == 200
        assert "debugger is unavailable" in runner.stderr()
    finally:
        runner.stop()


def test_nothing_started_without_the_variable(tmp_path):
    runner = Runner("python", tmp_path)
    runner.start()
    try:
        assert runner.request("GET", "/_/health")[0] == 200
        assert "debugpy listening" not in runner.stderr() and "debugger is unavailable" not in runner.stderr()
    finally:
        runner.stop()


@pytest.mark.skipif(not debugpy_importable(), reason="debugpy is not installed for %s (scripts/install-deps.sh installs it)" % PYTHON)
def test_debugpy_listens_on_loopback(tmp_path):
    port = free_port()
    runner = Runner("python", tmp_path, env={"SWIFTLET_DEBUGPY_PORT": str(port)})
    runner.start()
    try:
        assert "debugpy listening on 127.0.0.1:%d" % port in runner.stderr()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert runner.request("GET", "/_/health")[0] == 200
    finally:
        runner.stop()
