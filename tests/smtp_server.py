"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 and a free port.

It runs aiosmtpd's `UnthreadedController` on an event loop of our own
thread, and waits for it with short sleeps rather than aiosmtpd's own timed
`Event.wait`, which never returns under libfaketime (CI runs the suite a
second time under `faketime`). It can be stopped and started again on the
same port (the mail server is down, then back).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import Envelope

POLL = 0.01
STEPS = 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every message it accepts (refuses `refused` recipients)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._controller: UnthreadedController | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        controller = UnthreadedController(self.inbox, hostname="127.0.0.1", port=self.port,
                                          loop=loop)  # fmt: skip

        def run() -> None:
            asyncio.set_event_loop(loop)
            controller.begin()
            loop.run_forever()
            loop.close()

        self._loop, self._controller = loop, controller
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        for _ in range(STEPS):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(POLL)
        raise RuntimeError(f"the SMTP server did not start on port {self.port}")

    def stop(self) -> None:
        loop, controller, thread = self._loop, self._controller, self._thread
        if loop is None or controller is None or thread is None:
            return

        async def finish() -> None:
            await controller.finalize()
            loop.stop()

        loop.call_soon_threadsafe(lambda: loop.create_task(finish()))
        thread.join()
        self._loop = self._controller = self._thread = None
