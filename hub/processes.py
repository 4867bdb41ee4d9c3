"""Several web processes on one port: each binds it with SO_REUSEPORT and the kernel spreads
new connections across them, so one host uses all its cores. They share the database, and
the Redis bus wakes every process's live feed when any of them publishes."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)
RESTART_AFTER_S = 1.0  # a process that died is started again after this pause, doubled
RESTART_AT_MOST_S = 30.0  # for each death in a row, up to this
STOP_WITHIN_S = 10.0  # then the ones that did not stop are killed


def child_command(host: str, port: int) -> list[str]:
    """One web process that shares the port and leaves migrations to the parent."""
    return [sys.executable, "-m", "hub.cli", "web", "--host", host, "--port", str(port),
            "--reuse-port", "--no-migrate"]


def supervise(commands: Sequence[list[str]]) -> int:
    """Run one process per command until SIGINT or SIGTERM; restart any that dies."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    # Sessions of their own: a Ctrl-C in the terminal reaches the supervisor alone, which
    # then stops each child once, so none is interrupted in the middle of its shutdown.
    children = [subprocess.Popen(command, start_new_session=True) for command in commands]
    log.info("web processes %s serving one port", ", ".join(str(c.pid) for c in children))
    pause = RESTART_AFTER_S
    while not stopping:
        time.sleep(0.2)
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping:
                log.warning("web process %s exited with %s; starting another in %.0f s",
                            child.pid, child.returncode, pause)
                time.sleep(pause)
                pause = min(RESTART_AT_MOST_S, pause * 2)
                if not stopping:
                    children[index] = subprocess.Popen(commands[index], start_new_session=True)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_WITHIN_S
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0
