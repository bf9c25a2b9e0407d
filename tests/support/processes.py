"""A look at processes and ports from /proc and sockets, to check that nothing is left behind."""

from __future__ import annotations

import socket
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc), to check that nothing is left behind."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    """Whether something listens on the port of 127.0.0.1."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return False
        # With nothing listening, a connect can still succeed when the kernel picks that very port as the
        # ephemeral source (TCP self-connect): that is no listener.
        return sock.getsockname() != sock.getpeername()
