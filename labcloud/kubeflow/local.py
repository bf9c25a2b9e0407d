"""Compile a Kubeflow pipeline offline, and run it on this machine with kfp's local subprocess runner
(no cluster, no KFP backend: each step is a Python process in this environment).

kfp's generated command first runs `python3 -m pip install kfp==<version>`; here kfp is installed, so that
install has nothing to do. `run` makes sure it never reaches for the internet: it puts this environment's
Python first on PATH (a notebook kernel's PATH may lack it) and sets PIP_NO_INDEX, so a missing package
fails at once instead of downloading.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path


def compile(pipeline_func, path: str | os.PathLike) -> Path:  # noqa: A001 (kfp's own word for it)
    """Write the pipeline's YAML (KFP's intermediate representation) to `path`, offline."""
    from kfp import compiler

    compiler.Compiler().compile(pipeline_func, str(path))
    return Path(path)


@contextlib.contextmanager
def _offline_environment():
    saved = {key: os.environ.get(key) for key in ("PATH", "PIP_NO_INDEX", "PIP_DISABLE_PIP_VERSION_CHECK")}
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ["PIP_NO_INDEX"] = "1"
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(pipeline_func, pipeline_root: str | os.PathLike | None = None, **arguments) -> dict:
    """Run the pipeline locally, each step as a subprocess; returns the pipeline's outputs (empty when it
    declares none). A failing step raises RuntimeError naming it; its log is printed above."""
    from kfp import local

    root = Path(pipeline_root) if pipeline_root else Path(tempfile.mkdtemp(prefix="kfp-local-"))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root),
               raise_on_error=True)
    with _offline_environment():
        task = pipeline_func(**arguments)
    return dict(task.outputs) if task is not None and task.outputs else {}
