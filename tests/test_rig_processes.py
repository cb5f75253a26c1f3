"""The rig's child processes: a server that dies before it listens is started again on a fresh port, and says why.

A port found free can be taken before the server binds it; Temporal's dev server also picks several ports of its
own as it starts. CI once lost a whole chaos test to that ("nothing listens on 44305")."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from devstack.rig import ExitedBeforeListening, Process, port_free, serve_on_free_port, spawn

LISTEN = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)"
)


def test_a_server_that_exits_before_listening_is_started_again_on_another_port(tmp_path: Path) -> None:
    """The first start finds its port taken (as the dev server does when one of its own was grabbed)."""
    tried: list[int] = []

    def start(port: int) -> Process:
        tried.append(port)
        if len(tried) == 1:
            return spawn([sys.executable, "-c", "import sys; sys.exit('address already in use')"], {})
        return spawn([sys.executable, "-c", LISTEN, str(port)], {}, tmp_path / "server.log")

    process, port = serve_on_free_port(start)
    try:
        assert len(tried) == 2 and tried[1] == port  # started again, on the port it was given the second time
        assert process.alive and not port_free(port)
    finally:
        process.stop()


def test_a_server_that_never_comes_up_fails_with_the_end_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    failing = [sys.executable, "-c", "import sys; print('bind: address already in use'); sys.exit(3)"]
    with pytest.raises(ExitedBeforeListening) as raised:
        serve_on_free_port(lambda port: spawn(failing, {}, log), attempts=2)
    assert "exited (3)" in str(raised.value) and "bind: address already in use" in str(raised.value)
    assert log.read_text().count("address already in use") == 2  # both attempts, in one log


def test_a_restart_waits_until_the_server_listens_again(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = spawn([sys.executable, "-c", LISTEN, str(port)], {})
    try:
        process.wait_listening(port)
        first = process.pid
        process.restart(port=port)
        assert process.pid != first and process.alive and not port_free(port)
    finally:
        process.stop()
