"""The HTTP server under both stand-ins: loopback by default, one thread per connection, connections counted."""

from __future__ import annotations

import socket
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """Serves on 127.0.0.1; `connections` counts accepted connections (to check connection reuse)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: Any, port: int = 0, *, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), handler)
        self.connections = 0

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        self.connections += 1
        if isinstance(request, socket.socket):
            # The handlers write headers and body in two sends; with Nagle's algorithm on, the second waits for
            # the client's delayed ACK, about 40 ms per request after the first on a kept-alive connection.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)
