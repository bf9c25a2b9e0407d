"""The launcher process's side of labcloud.runtime.serving.launcher: preload the frameworks once, then fork
a model server from that warm interpreter on each request and report how each one ends.

Started by Launcher.start() as `python -m labcloud.runtime.serving.launcher <control fd>`, whose main
calls serve(), the loop. This process forks, so it never starts a thread; what it imports before the
preload is what every container inherits, so it is kept to the standard library and small modules.
"""

from __future__ import annotations

import gc
import io
import json
import os
import runpy
import select
import signal
import socket
import sys
import time
import traceback

from labcloud.platform.processes import signal_group

# Imported before the first fork: what framework containers and their pickled models need. Missing ones
# (XGBoost is optional) are skipped.
PRELOAD = ("numpy", "scipy", "pandas", "joblib", "sklearn", "sklearn.base", "sklearn.preprocessing",
           "sklearn.linear_model", "sklearn.ensemble", "sklearn.pipeline", "sklearn.compose", "sklearn.tree",
           "sklearn.impute", "sklearn.decomposition", "xgboost", "http.server",
           # Not the model server itself: each child runs it as __main__.
           "labcloud.runtime.serving.handlers", "labcloud.protocols.http1")
# Native libraries start worker threads when they load; one thread each means none (fork copies one thread).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
MAX_MESSAGE = 1 << 20
STOP_CHILDREN_GRACE_SECONDS = 2.0


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    """One message on the control socket (a SOCK_SEQPACKET pair: one JSON object a packet), with file
    descriptors if given. Both sides speak with it."""
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

    try:  # imported here: only a child that computes with numpy needs it
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
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - like the interpreter: print the traceback, exit 1
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
    send(control, {"op": "ready", "preloaded": loaded, "seconds": round(time.monotonic() - started, 3)})
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
        for pid, code in _reap(children):  # say how each child that ended did
            send(control, {"op": "exited", "pid": pid, "code": code})
        if control not in readable:
            continue
        data = control.recv(MAX_MESSAGE)
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
            send(control, {"op": "failed", "id": request["id"], "message": f"fork failed: {err}"})
            continue
        if pid == 0:
            _child(request["module"], request["env"], request["cwd"], write_end,
                   [control.fileno(), wake_r, wake_w, read_end])
        os.close(write_end)
        children.add(pid)
        send(control, {"op": "spawned", "id": request["id"], "pid": pid}, [read_end])
        os.close(read_end)


def _reap(children: set[int]) -> list[tuple[int, int]]:
    """Every child that has ended since the last look, as (pid, exit code as subprocess reports it), taken
    out of `children`."""
    ended = []
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        children.discard(pid)
        ended.append((pid, os.waitstatus_to_exitcode(status)))
    return ended


def _stop_children(children: set[int]) -> None:
    for pid in children:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_CHILDREN_GRACE_SECONDS
    while children and time.monotonic() < deadline:
        if not _reap(children):
            time.sleep(0.02)
    for pid in children:
        signal_group(pid, signal.SIGKILL)
