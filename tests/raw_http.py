"""A local HTTP/1.1 server that ends each body by closing the connection (no Content-Length, not chunked): the one
answer framing in which HTTP cannot tell a body cut short from a whole one."""

from __future__ import annotations

import socket
import threading
from collections import deque


class CloseDelimitedServer:
    """Answers each request with the next of ``bodies`` (200, text/csv, no length), then closes; records the paths."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = deque(bodies)
        self.paths: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                self.paths.append(request.split(b" ", 2)[1].decode("latin-1") if request else "")
                body = self.bodies.popleft() if self.bodies else b""
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n" + body)

    def close(self) -> None:
        self._sock.close()
