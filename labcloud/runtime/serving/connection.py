"""One kept-alive HTTP/1.1 connection from the platform to a model server; the answer is read by
labcloud.protocols.http1, as every HTTP/1.1 message in labcloud is."""

from __future__ import annotations

import socket

from labcloud.protocols.http1 import ProtocolError, read_response

__all__ = ["ContainerConnection", "ProtocolError"]


class ContainerConnection:
    """One kept-alive HTTP/1.1 connection to a model server. Lean on purpose: the request leaves in one
    send and the answer is read from one buffer, which is all a hop through a pipeline should cost."""

    def __init__(self, port: int, timeout: float):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.keep_alive = True

    def exchange(self, message: bytes, body: bytes | None = None) -> tuple[int, dict, bytes]:
        """Send a request (head and body, or a whole message); return (status, lower-cased headers, body).
        ProtocolError when the answer is not an HTTP/1.1 response (or the connection closed)."""
        self.sock.sendall(message)
        if body:
            self.sock.sendall(body)
        status, headers, data, self.keep_alive = read_response(self.rfile)
        return status, headers, data

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()
