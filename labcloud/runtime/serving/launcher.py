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
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from labcloud.core import settings
from labcloud.platform.processes import signal_group

# Imported before the first fork: what framework containers and their pickled models need. Missing ones
# (XGBoost is optional) are skipped.
PRELOAD = ("numpy", "scipy", "pandas", "joblib", "sklearn", "sklearn.base", "sklearn.preprocessing",
           "sklearn.linear_model", "sklearn.ensemble", "sklearn.pipeline", "sklearn.compose", "sklearn.tree",
           "sklearn.impute", "sklearn.decomposition", "xgboost", "http.server",
           "labcloud.runtime.serving.handlers")  # not the model server itself: each child runs it as __main__
# Native libraries start worker threads when they load; one thread each means none (fork copies one thread).
_SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_MAX_MESSAGE = 1 << 20
SPAWN_TIMEOUT_SECONDS = 120.0  # a request waits for the preload, which is slow on a busy machine
STOP_CHILDREN_GRACE_SECONDS = 2.0


# ============================ the launcher process ============================

def _send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


def _preload(names=PRELOAD) -> list[str]:
    loaded = []
    for name in names:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - an optional library that is absent or broken is simply not preloaded
            pass
    return loaded


def _restore_thread_pools(env: dict) -> None:
    """The launcher loads BLAS and OpenMP with one thread each, so that it forks from a single-threaded
    process; give the child the pools a fresh interpreter would start with (its *_NUM_THREADS, else one
    thread per core)."""
    if "numpy" not in sys.modules:
        return

    def wanted(*names) -> int:
        value = next((env[name] for name in names if env.get(name)), "")
        return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)

    try:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        controller.limit(limits=wanted("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"), user_api="blas")
        controller.limit(limits=wanted("OMP_NUM_THREADS"), user_api="openmp")
    except Exception:  # noqa: BLE001 - without threadpoolctl the child computes with one thread
        pass


def _child(module: str, env: dict, cwd: str, out_fd: int, close: list[int]) -> None:
    """Runs in the forked child and never returns: becomes `python -m module` with its own session."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        for fd in close:
            os.close(fd)
        os.setsid()  # its own session and process group: stopping it stops what it starts
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)  # one stream, as subprocess's stderr=STDOUT
        os.close(devnull)
        os.close(out_fd)
        import io

        # What `python -u` sets up: every write reaches the pipe at once, so log lines are never held back.
        stream = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  write_through=True)
        sys.stdout = sys.__stdout__ = stream
        sys.stderr = sys.__stderr__ = stream
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        # sys.path as `python -m` run in cwd would have it: cwd first, then the container's PYTHONPATH.
        sys.path[0] = os.getcwd()
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[1:1] = extra
        if "numpy" in sys.modules:  # a fresh interpreter seeds numpy from the OS; a fork would share the seed
            sys.modules["numpy"].random.seed()
        _restore_thread_pools(env)
        sys.argv = [module]
        import runpy

        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - like the interpreter: print the traceback, exit 1
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
        except Exception:  # noqa: BLE001
            pass
        os._exit(code)


def serve(control_fd: int) -> int:
    """The launcher's loop: preload, then fork on request and report exits, until the control socket closes."""
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so SIGCHLD writes to the wake pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for labcloud, which stops us
    started = time.monotonic()
    loaded = _preload()
    gc.collect()
    gc.freeze()  # the preloaded objects stay out of every child's collections, so their pages stay shared
    _send(control, {"op": "ready", "preloaded": loaded, "seconds": round(time.monotonic() - started, 3)})
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
        while children:  # reap every child that ended and say how
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            _send(control, {"op": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
        if control not in readable:
            continue
        data = control.recv(_MAX_MESSAGE)
        if not data:  # labcloud is gone: take the containers down with us
            _stop_children(children)
            return 0
        request = json.loads(data)
        if request.get("op") != "spawn":
            continue
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as err:
            os.close(read_end)
            os.close(write_end)
            _send(control, {"op": "failed", "id": request["id"], "message": f"fork failed: {err}"})
            continue
        if pid == 0:
            _child(request["module"], request["env"], request["cwd"], write_end,
                   [control.fileno(), wake_r, wake_w, read_end])
        os.close(write_end)
        children.add(pid)
        _send(control, {"op": "spawned", "id": request["id"], "pid": pid}, [read_end])
        os.close(read_end)


def _stop_children(children: set[int]) -> None:
    for pid in children:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_CHILDREN_GRACE_SECONDS
    while children and time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            children.discard(pid)
        else:
            time.sleep(0.02)
    for pid in children:
        signal_group(pid, signal.SIGKILL)


# ============================ the labcloud side ============================

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
                start_new_session=True, env={**os.environ, **_SINGLE_THREADED})
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
                data, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, 4, socket.MSG_CMSG_CLOEXEC)
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
            _send(sock, {"op": "spawn", "id": request_id, "module": module, "env": dict(env), "cwd": str(cwd)})
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
