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


class _Tail:
    """Passes what is printed on to `out` and keeps its last lines (kfp prints each step's log there)."""

    def __init__(self, out, keep: int = 500):
        self.out = out
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._partial = ""

    def write(self, text: str) -> int:
        self.out.write(text)
        *done, self._partial = (self._partial + text).split("\n")
        self.lines.extend(done)
        return len(text)

    def error(self) -> str | None:
        """The last error a step printed: its traceback's last line, or pip's error."""
        for line in reversed([*self.lines, self._partial]):
            found = _ERROR.match(_ANSI.sub("", line))
            if found:
                return f"{found.group(1)}: {found.group(2)}"
        return None

    def __getattr__(self, name):  # flush, isatty, fileno, encoding, ...: the real stream's
        return getattr(self.out, name)


def run(pipeline_func, pipeline_root: str | os.PathLike | None = None, **arguments) -> dict:
    """Run the pipeline (or a single component) locally with `arguments`, each step as a subprocess;
    returns its outputs by name (`{"Output": value}` for a single unnamed one, {} when it declares none).

    A failing step fails the run: RuntimeError naming the step and ending with the step's error (an
    ACK.Terminal condition's message, a timeout, pip's word for a missing package); the step's whole log is
    printed above. The steps' inputs and outputs are kept under `pipeline_root` (a new temporary folder
    when it is None)."""
    from kfp import local

    root = Path(pipeline_root) if pipeline_root else Path(tempfile.mkdtemp(prefix="kfp-local-"))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    tail = _Tail(sys.stdout)
    try:
        with offline_environment(), contextlib.redirect_stdout(tail):
            task = pipeline_func(**arguments)
    except RuntimeError as err:
        error = tail.error()
        message = _ANSI.sub("", str(err))
        raise RuntimeError(f"{message.rstrip('.')}; the step's error: {error}" if error else message) from None
    return dict(task.outputs) if task is not None and task.outputs else {}
