"""`receptionist chat`: the same conversation in a terminal. Lines typed go in as web chat
messages; the receptionist's replies are printed as they arrive; end of input quits."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_demo_browser import free_port
from tests.helpers import REPO

pytestmark = pytest.mark.browser  # an end-to-end run of the demo's stack, like the page test

BOUND_S = 120.0


class Terminal:
    """The chat process with its standard input and output as a person's terminal."""

    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AMQP_URL")}
        env |= {"RECEPTIONIST_DEMO_DIR": str(home / "data"), "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "receptionist.cli", "chat", "--business", "salon",
             "--port", str(free_port()), "--fresh"],
            cwd=home, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + BOUND_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "\n".join(self.seen)
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; saw:\n" + "\n".join(self.seen))

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        if term.process.poll() is None:
            term.process.kill()


def test_a_conversation_in_the_terminal(terminal: Terminal) -> None:
    terminal.wait_for("Chatting with Bella Hair Studio")
    terminal.type("hi")
    terminal.wait_for("receptionist> Hi! This is Bella Hair Studio")
    terminal.type("how much is a beard trim?")
    terminal.wait_for("$20.00")
    assert terminal.process.stdin is not None
    terminal.process.stdin.close()  # Ctrl-D
    assert terminal.process.wait(timeout=60) == 0, "\n".join(terminal.seen)
