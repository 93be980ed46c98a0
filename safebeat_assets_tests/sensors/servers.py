"""Real loopback servers for delivery tests: an HTTP endpoint and a small SMTP server.

Both run in a daemon thread on 127.0.0.1 and record what they receive. The SMTP server speaks
enough of RFC 5321 for smtplib (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT); it
does not offer STARTTLS, which lets a test prove that a required STARTTLS is enforced.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from safebeat_assets_tests.helpers import free_port


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    return free_port()


# ------------------------------------------------------------------------------------------ HTTP


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class WebhookServer:
    """Answers every POST with `status` and records it. `echo_path` puts the request's path and
    query in an error answer (as careless hooks do, token included); `delay` holds the answer
    back that many seconds (a hook that hangs)."""

    def __init__(self, status: int = 200, echo_path: bool = False, delay: float = 0.0):
        self.status = status
        self.echo_path = echo_path
        self.delay = delay
        self.requests: list[ReceivedRequest] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    ReceivedRequest(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                if outer.delay:
                    time.sleep(outer.delay)
                if outer.status < 400:
                    body = b"ok"
                elif outer.echo_path:
                    body = f"no hook at {self.path}".encode()
                else:
                    body = b"hook rejected the payload"
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks/T000/secret-token") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


# ------------------------------------------------------------------------------------------ SMTP


@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    data: bytes
    login: tuple[str, str] | None = None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class _Session:
    mail_from: str = ""
    recipients: list[str] = field(default_factory=list)
    login: tuple[str, str] | None = None


class SmtpServer:
    """A minimal SMTP server recording each accepted message. With `echo_auth`, a refused login
    is answered with the client's own AUTH line quoted back (base64 credentials included)."""

    def __init__(
        self,
        credentials: tuple[str, str] | None = None,
        refuse: set[str] = frozenset(),
        echo_auth: bool = False,
    ):
        self.credentials = credentials  # when set, AUTH PLAIN is offered and checked
        self.refuse = set(refuse)
        self.echo_auth = echo_auth
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write(text.encode("utf-8") + b"\r\n")

            def handle(self) -> None:
                session = _Session()
                self.reply("220 127.0.0.1 SafeBeat test SMTP")
                while line := self.rfile.readline():
                    command = line.decode("utf-8", errors="replace").rstrip("\r\n")
                    verb = command.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        lines = ["127.0.0.1", "8BITMIME", "SMTPUTF8"]
                        if outer.credentials:
                            lines.append("AUTH PLAIN")
                        for extension in lines[:-1]:
                            self.reply(f"250-{extension}")
                        self.reply(f"250 {lines[-1]}")
                    elif verb == "HELO":
                        self.reply("250 127.0.0.1")
                    elif verb == "AUTH":
                        self.auth(command, session)
                    elif verb == "MAIL":
                        session.mail_from = _address(command)
                        session.recipients = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        address = _address(command)
                        if address in outer.refuse:
                            self.reply("550 no such user")
                        else:
                            session.recipients.append(address)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        outer.messages.append(
                            ReceivedMail(
                                session.mail_from,
                                list(session.recipients),
                                self.read_data(),
                                session.login,
                            )
                        )
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

            def auth(self, command: str, session: _Session) -> None:
                parts = command.split()
                if len(parts) < 3 or parts[1].upper() != "PLAIN" or not outer.credentials:
                    self.reply("504 unsupported authentication")
                    return
                _, user, password = base64.b64decode(parts[2]).decode("utf-8").split("\0")
                outer.logins.append((user, password))
                if (user, password) == outer.credentials:
                    session.login = (user, password)
                    self.reply("235 authenticated")
                elif outer.echo_auth:
                    self.reply(f"535 authentication failed for {command}")
                else:
                    self.reply("535 authentication failed")

            def read_data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def _address(command: str) -> str:
    value = command.split(":", 1)[1].strip()
    return value.split(">", 1)[0].lstrip("<")
