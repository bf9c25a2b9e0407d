"""A "zygote" for model servers: one process that imports the heavy libraries once and forks a container
from that warm interpreter on request, so an endpoint's containers answer /ping in milliseconds instead of
each paying seconds of imports (numpy, pandas, scikit-learn, XGBoost).

    labcloud process                              launcher process (single-threaded, never runs threads)
    ----------------                              -------------------------------------------------------
    Launcher.spawn(module, env, cwd)  ── spawn ─► fork(): the child calls setsid(), chdir(cwd), takes env,
                                                  stdout+stderr = a new pipe, runs `python -m module`
    LaunchedProcess(pid, stdout)      ◄─ spawned + the pipe's read end (SCM_RIGHTS) ─┘
    LaunchedProcess.returncode        ◄─ exited (waitpid status, as subprocess reports it)

Each container is still its own process (own pid, session and process group, environment, cwd, captured
output), stopped by SIGTERM/SIGKILL to its group like any other. The control channel is a Unix socket pair:
when the labcloud process ends, even killed, the launcher reads end-of-file, stops its children and exits.
Its children exit too once their parent is gone (the model server watches its parent).

    python -m labcloud.runtime.serving.launcher <control fd>     (started by Launcher.start(), not by hand)

This module is the labcloud side (Launcher, LaunchedProcess, shared_launcher); the launcher process's own
code is in launcher_process.py, which this module runs when started as above.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from labcloud.core import settings
from labcloud.platform.processes import signal_group
from labcloud.runtime.serving.launcher_process import MAX_MESSAGE, SINGLE_THREADED, send, serve

SPAWN_TIMEOUT_SECONDS = 120.0  # a request waits for the preload, which is slow on a busy machine


def _ended(pid: int) -> bool:
    """True once a process that is not our child has exited: every thread gone or a zombie (the leader
    turns zombie before its other threads have closed the process's files, sockets included)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid still exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return False
        except OSError:
            continue
    return True


class LauncherUnavailable(Exception):
    """The launcher is not running or did not answer: start the process the ordinary way instead."""


class LaunchedProcess:
    """A child of the launcher, with the part of subprocess.Popen's interface the platform uses."""

    def __init__(self, pid: int, stdout_fd: int):
        self.pid = pid
        self.stdout = os.fdopen(stdout_fd, "rb")
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _set_exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Launcher:
    """The labcloud side: starts the launcher process, asks it for children, hears how they end."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.preloaded: list[str] = []
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._replies: dict[int, dict] = {}
        self._reply_events: dict[int, threading.Event] = {}
        self._children: dict[int, LaunchedProcess] = {}
        self._next_id = 0
        self._closed = False

    @property
    def alive(self) -> bool:
        return self._sock is not None and not self._closed and self.process.poll() is None

    def start(self) -> "Launcher":
        """Start the launcher process; returns at once (it preloads in the background)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "labcloud.runtime.serving.launcher", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, **SINGLE_THREADED})
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        threading.Thread(target=self._listen, name="labcloud-launcher-listener", daemon=True).start()
        return self

    def describe(self) -> str:
        """One line for `labcloud status`."""
        if not self.alive:
            return "not running (model servers start as ordinary processes)"
        if not self._ready.is_set():
            return f"preloading (pid {self.process.pid})"
        return f"ready (pid {self.process.pid}, preloaded {', '.join(self.preloaded)})"

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _listen(self) -> None:
        sock = self._sock
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4, socket.MSG_CMSG_CLOEXEC)
            except OSError:
                data, fds = b"", []
            if not data:
                break
            message = json.loads(data)
            op = message.get("op")
            if op == "ready":
                self.preloaded = message["preloaded"]
                self._ready.set()
            elif op in ("spawned", "failed"):
                with self._lock:
                    event = self._reply_events.get(message["id"])
                    if event is not None:
                        if op == "spawned":
                            child = message["process"] = LaunchedProcess(message["pid"], fds[0])
                            self._children[child.pid] = child
                        self._replies[message["id"]] = message
                if event is not None:
                    event.set()
                elif op == "spawned":  # its caller gave up waiting and started the container another way
                    signal_group(message["pid"], signal.SIGKILL)
                    os.close(fds[0])
            elif op == "exited":
                with self._lock:
                    child = self._children.pop(message["pid"], None)
                if child is not None:
                    child._set_exit(message["code"])
        self._lost()

    def _lost(self) -> None:
        """The launcher ended: its children lose their parent and exit; make sure, and say they are gone."""
        with self._lock:
            self._closed = True
            children, self._children = list(self._children.values()), {}
            events = list(self._reply_events.values())
        for child in children:
            signal_group(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        for child in children:  # like Popen.wait(): report the end once the process is really gone
            while not _ended(child.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            child._set_exit(-signal.SIGKILL)
        for event in events:
            event.set()
        self._ready.set()

    def spawn(self, module: str, env: dict, cwd: str, timeout: float = SPAWN_TIMEOUT_SECONDS) -> LaunchedProcess:
        """Fork `python -m module` from the warm launcher. Raises LauncherUnavailable if it cannot."""
        with self._lock:
            sock = self._sock
            if self._closed or sock is None:
                raise LauncherUnavailable("the launcher is not running")
            self._next_id += 1
            request_id = self._next_id
            event = self._reply_events[request_id] = threading.Event()
        try:
            send(sock, {"op": "spawn", "id": request_id, "module": module, "env": dict(env), "cwd": str(cwd)})
        except OSError as err:
            with self._lock:
                self._reply_events.pop(request_id, None)
            raise LauncherUnavailable(f"the launcher did not take the request: {err}") from None
        answered = event.wait(timeout)
        with self._lock:  # from here on a late answer is refused by the listener (its child is killed)
            self._reply_events.pop(request_id, None)
            reply = self._replies.pop(request_id, None)
        if reply is None:
            raise LauncherUnavailable("the launcher ended before it answered" if answered else
                                      f"the launcher did not answer within {timeout:.0f} s")
        if reply["op"] == "failed":
            raise LauncherUnavailable(reply["message"])
        return reply["process"]

    def close(self, timeout: float = 10.0) -> None:
        """Stop the launcher; it stops any child still running first."""
        sock, self._sock = self._sock, None
        if self.process is not None and not self._ready.is_set():
            self.process.kill()  # still importing, so no child yet: nothing to wait for
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_shared: Launcher | None = None
_shared_lock = threading.Lock()


def shared_launcher(start: bool = True) -> Launcher | None:
    """This process's launcher, started on first use (labcloud's server starts it early to warm it up).
    None when it cannot run here (not Linux/fork, or turned off with LABCLOUD_LAUNCHER=0)."""
    global _shared
    with _shared_lock:
        if _shared is not None and (_shared.alive or not start):
            return _shared
        if not start or not hasattr(os, "fork") or not settings.read("LABCLOUD_LAUNCHER"):
            return None
        try:
            _shared = Launcher().start()
        except OSError as err:
            print(f"labcloud: the model-server launcher could not start ({err}); containers start as "
                  "ordinary processes", file=sys.stderr)
            _shared = None
        return _shared


def close_shared_launcher() -> None:
    global _shared
    with _shared_lock:
        launcher, _shared = _shared, None
    if launcher is not None:
        launcher.close()


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
