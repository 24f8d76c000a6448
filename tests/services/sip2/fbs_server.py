"""A local FBS: SIP2-over-HTTPS in the ``sip`` envelope, in front of the test ACS.

stdlib ``http.server`` + ``ssl`` with a self-signed certificate. Each POST to
``/rest/sip2/DK-<agency>`` is unwrapped, its login/password checked, the message passed to the
pysip2 ACS over TCP (no AY/AZ, as FBS has none) and the reply wrapped again, with the patron
identifier prefixed ``LN:`` the way FBS answers. Wrong credentials get ``<error>``.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.sip2 import fbs

_AA = re.compile(r"(\|AA)([^|]*)")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet."""
        pass  # a client refusing our certificate is a test case, not noise for the log


class FbsServer:
    """HTTPS on 127.0.0.1 (free port) for one agency, forwarding to the ACS on ``acs_port``."""

    def __init__(
        self, acs_port: int, tls: ssl.SSLContext, agency: str, login: str, password: str
    ) -> None:
        self.acs_port, self.agency, self.login, self.password = acs_port, agency, login, password
        self.delay_s = 0.0
        self.requests: list[bytes] = []  # raw bodies, for assertions about the envelope
        self._lock = threading.Lock()
        self._acs: socket.socket | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            """One POST: the envelope in, the envelope out."""

            protocol_version = "HTTP/1.1"  # keep-alive, as FBS offers

            def do_POST(self) -> None:
                """Answer one SIP2 message."""
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = server.answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                """No access log on the test's stderr."""

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, body: bytes) -> tuple[int, bytes]:
        """HTTP status and body for one POST."""
        self.requests.append(body)
        if path != f"/rest/sip2/{self.agency}":
            return 404, fbs.response_envelope(None, error=f"Unknown agency in {path}")
        try:
            login, password, message = fbs.request_text(body)
        except Exception:
            return 400, fbs.response_envelope(None, error="Malformed request")
        if not password:
            error = "Required field: LOGIN_PASSWORD must be set!"  # FBS's own words
            return 200, fbs.response_envelope(None, error=error)
        if (login, password) != (self.login, self.password):
            return 200, fbs.response_envelope(None, error="Login failed")
        time.sleep(self.delay_s)
        reply = self._ask_acs(message)
        return 200, fbs.response_envelope(_AA.sub(r"\1LN:\2", reply))

    def _ask_acs(self, message: str) -> str:
        with self._lock:
            if self._acs is None:
                self._acs = socket.create_connection(("127.0.0.1", self.acs_port))
            self._acs.sendall(message.encode() + b"\r")
            data = b""
            while not data.endswith(b"\r"):
                chunk = self._acs.recv(65536)
                if not chunk:
                    self._acs = None
                    raise ConnectionError("ACS closed")
                data += chunk
            return data[:-1].decode()

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._acs is not None:
            self._acs.close()
