"""``make run``'s Ctrl-C (bin/run-procfile): each process stops its own children, quietly.

A stand-in for the Celery worker: a parent that stops its child itself when it gets SIGTERM. If
the child got the SIGTERM straight from the runner (as with ``honcho start``, which signals the
whole process group), it says so.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "bin" / "run-procfile"

CHILD = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (print("child got SIGTERM from outside", flush=True), sys.exit(1)))
signal.signal(signal.SIGINT, lambda *_: (print("child stopped by its parent", flush=True), sys.exit(0)))
print("child ready", flush=True)
time.sleep(60)
"""

PARENT = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, sys.argv[1]])
def stop(*_):
    time.sleep(0.5)  # a signal sent to the whole group reaches the child first
    child.send_signal(signal.SIGINT)
    child.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
time.sleep(60)
"""


def test_ctrl_c_lets_each_process_stop_its_children_and_exits_zero(tmp_path):
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "parent.py").write_text(PARENT)
    (tmp_path / "Procfile").write_text(
        f"worker: {sys.executable} {tmp_path / 'parent.py'} {tmp_path / 'child.py'}\n"
    )
    runner = subprocess.Popen(
        [sys.executable, str(RUNNER), str(tmp_path / "Procfile")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _wait_for_line(runner, "child ready")

    runner.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process group
    output, _ = runner.communicate(timeout=30)

    assert runner.returncode == 0, output
    assert "child stopped by its parent" in output
    assert "from outside" not in output and "SIGKILL" not in output


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
    raise AssertionError(f"never saw {text!r}")
