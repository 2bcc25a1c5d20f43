"""A real SMTP server for tests: aiosmtpd on a free loopback port, recording what it accepts.

Faults a real server produces on demand are scripted through `SmtpServer.replies`: the next
`RCPT` or `DATA` answers with the given code (e.g. 451 greylisting, 550 no such user).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes

    @property
    def message_id(self) -> str:
        return str(message_from_bytes(self.data, policy=policy.compat32)["Message-ID"])


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)  # consumed one per RCPT
    data_replies: list[str] = field(default_factory=list)  # consumed one per DATA
    # Crash tests: SIGKILL this client process when the command arrives ("RCPT" or "DATA").
    # A DATA kill happens after the message is recorded: the server has accepted it, the
    # client never hears so.
    kill_client: tuple[str, int] | None = None

    def _maybe_kill(self, command: str) -> None:
        if self.kill_client is not None and self.kill_client[0] == command:
            os.kill(self.kill_client[1], signal.SIGKILL)
            self.kill_client = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self._maybe_kill("RCPT")
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        raw = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        self._maybe_kill("DATA")
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    client_context: ssl.SSLContext | None = None

    @property
    def received(self) -> list[Received]:
        return self.recorder.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP on loopback (allowed only there)."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_tls_server() -> Iterator[SmtpServer]:
    """SMTP with STARTTLS required, on a certificate for 127.0.0.1 signed by a test CA."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        server_hostname="127.0.0.1",
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, recorder, client_context)
    finally:
        controller.stop()
