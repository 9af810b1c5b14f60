"""A stand-in HTTP CONNECT proxy: it tunnels each CONNECT to its target (or to where `routes` sends that target),
records the targets asked for, and refuses anything but CONNECT. For the tests of proxies, and for CI's integration
job, where it sends the action's calls to api.github.com to the GitHub stand-in."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Mapping
from typing import Self

IDLE_SECONDS = 10


class ConnectProxy(socketserver.ThreadingTCPServer):
    """`with ConnectProxy() as proxy:` tunnels at `proxy.url` until the block ends. `routes` maps a target as
    asked (`api.github.com:443`) to the address to tunnel to instead (`127.0.0.1:8443`)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: Mapping[str, str] | None = None, *, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _ConnectHandler)
        self.routes = dict(routes or {})
        self.targets: list[str] = []
        self._host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 (compared, not bound)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()


class _ConnectHandler(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
            pass
        if len(request_line) < 2 or request_line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.targets.append(request_line[1])
        host, _, port = self.server.routes.get(request_line[1], request_line[1]).rpartition(":")
        with socket.create_connection((host, int(port)), timeout=IDLE_SECONDS) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe(self.connection, upstream)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], IDLE_SECONDS)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
