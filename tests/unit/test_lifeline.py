"""The Lifeline's rules, on a small program: a lost terminal unwinds through ``finally``
blocks, a hung exit is ended by the watchdog within its grace, and hangups stay ignored under
nohup."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

PROGRAM = """
import signal, sys, time
if {nohup}:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
from ldtui.cli.lifeline import Lifeline, TerminalLost
try:
    with Lifeline(grace={grace}, needs_terminal=False) as life:
        try:
            print("ready", flush=True)
            time.sleep(30)
        finally:
            print("cleaned up", flush=True)
            {hang}
except TerminalLost as exc:
    sys.exit(exc.code)
"""


def start(*, nohup: bool = False, grace: float = 1.2, hang: str = "pass") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM.format(nohup=nohup, grace=grace, hang=hang)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_a_signal_unwinds_through_finally_blocks() -> None:
    for signum in (signal.SIGHUP, signal.SIGTERM):
        proc = start()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 128 + signum and "cleaned up" in out and "Traceback" not in err


def test_a_hung_exit_is_ended_by_the_watchdog_within_its_grace() -> None:
    proc = start(grace=0.5, hang="time.sleep(60)")
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 143 and "cleaned up" in out
    assert time.monotonic() - sent < 2.0


def test_hangups_stay_ignored_under_nohup() -> None:
    proc = start(nohup=True)
    try:
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)  # (proving that nothing happens: there is no event to wait for)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        assert proc.returncode == 143
    finally:
        if proc.poll() is None:
            proc.kill()
