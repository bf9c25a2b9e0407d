"""Compile a Kubeflow pipeline offline, and run it on this machine with kfp's local subprocess runner.

`compile` writes the YAML (KFP's intermediate representation) that a KFP backend would run; it needs no
cluster. `run` runs the pipeline with `kfp.local` and `SubprocessRunner(use_venv=False)`: each step is a
process of this Python environment (kfp puts this interpreter, `sys.executable`, in place of the
command's `python3`), its inputs and outputs kept under a local pipeline root.

A lightweight step's command starts with `python3 -m pip install` of its packages and of
`kfp==<this kfp's version>`. They are installed here, so pip has nothing to do, and `run` makes sure it
never reaches for a package index: it sets PIP_NO_INDEX for the steps (a package that is missing makes the
step fail at once, saying which, instead of downloading it) and puts this interpreter's folder first on
PATH (the command looks for `pip` there; a notebook kernel's PATH may lack it).

What a KFP backend does that this does not: it runs each step as a pod in the step's image (its pip
installs do download), schedules and retries steps, caches their results, keeps artifacts in object
storage, and shows runs in its UI; there is no Argo workflow here and no pod.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

# What the steps' pip sees while a pipeline runs here.
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A step's error: a traceback's last line ("RuntimeError: TrainingJob x is ACK.Terminal: ..."), or pip's
# ("ERROR: No matching distribution found for ...").
_ERROR = re.compile(r"^\s*((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)|ERROR): (.+)$")


def compile(pipeline_func, path: str | os.PathLike) -> Path:  # noqa: A001 (kfp's own word for it)
    """Write the pipeline's YAML to `path`, offline; returns the path."""
    from kfp import compiler

    compiler.Compiler().compile(pipeline_func, str(path))
    return Path(path)


@contextlib.contextmanager
def offline_environment():
    """The environment the steps inherit while a pipeline runs: pip kept off every index, this
    interpreter's folder first on PATH. Put back as it was afterwards."""
    changes = {**OFFLINE_PIP,
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    saved = {key: os.environ.get(key) for key in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _StepLog:
    """Takes what kfp prints while a pipeline runs (its own lines and each step's streamed log): writes all
    of it to `log`, and prints on `out` only one line per finished step and one for the pipeline, so a
    notebook cell shows the run's progress, not every step's pip and SDK output."""

    _FINISHED = re.compile(r"(Task|Pipeline) (.+?) finished with status (\w+)")

    def __init__(self, out, log, keep: int = 500):
        self.out, self.log = out, log
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._partial = ""

    def write(self, text: str) -> int:
        self.log.write(text)
        *done, self._partial = (self._partial + text).split("\n")
        for line in done:
            line = _ANSI.sub("", line)
            self.lines.append(line)
            finished = self._FINISHED.search(line)
            if finished:
                kind, name, status = finished.groups()
                self.out.write(f"{'step' if kind == 'Task' else 'pipeline'} {name}: {status}\n")
        return len(text)

    def flush(self) -> None:
        self.log.flush()
        self.out.flush()

    def error(self) -> str | None:
        """The last error a step printed: its traceback's last line, or pip's error."""
        for line in reversed([*self.lines, _ANSI.sub("", self._partial)]):
            found = _ERROR.match(line)
            if found:
                return f"{found.group(1)}: {found.group(2)}"
        return None

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _root_logging_to(stream):
    """Send the root logger's records to `stream` while a pipeline runs: kfp logs a few lines (the
    workspace it cleaned up) outside its own logging context, which would otherwise reach whatever handler
    the kernel or the SDK set up."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [logging.StreamHandler(stream)]
    try:
        yield
    finally:
        root.handlers = saved


def run(pipeline_func, pipeline_root: str | os.PathLike | None = None, **arguments) -> dict:
    """Run the pipeline (or a single component) locally with `arguments`, each step as a subprocess;
    returns its outputs by name (`{"Output": value}` for a single unnamed one, {} when it declares none).

    It prints one line per finished step; the whole log (kfp's lines and each step's output) is kept in
    `run.log` under `pipeline_root`, with the steps' inputs and outputs (`pipeline_root` is a new temporary
    folder when it is None). A failing step fails the run: RuntimeError naming the step and ending with the
    step's error (an ACK.Terminal condition's message, a timeout, pip's word for a missing package) and
    where the log is."""
    from kfp import local

    root = Path(pipeline_root) if pipeline_root else Path(tempfile.mkdtemp(prefix="kfp-local-"))
    root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    log_path = root / "run.log"
    with open(log_path, "a", encoding="utf-8") as log:
        steps = _StepLog(sys.stdout, log)
        try:
            with offline_environment(), contextlib.redirect_stdout(steps), _root_logging_to(steps):
                task = pipeline_func(**arguments)
        except RuntimeError as err:
            error = steps.error()
            message = _ANSI.sub("", str(err)).rstrip(".")
            said = f"{message}; the step's error: {error}" if error else message
            raise RuntimeError(f"{said} (the whole log: {log_path})") from None
    return dict(task.outputs) if task is not None and task.outputs else {}
