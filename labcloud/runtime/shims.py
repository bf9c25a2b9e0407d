"""`python`, `python3`, `pip` and `pip3` for the front of a job's PATH: the course's Python, offline.

Processing jobs and CodeBuild builds run scripts that call these by name (the SDK's runproc.sh, a
buildspec's `pip install -r requirements.txt` then `python run.py`). On labcloud they all run the server's
Python, which has the course's packages; installing or removing packages is skipped with a note and
succeeds, because labcloud runs offline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PIP_NOTE = ("labcloud: pip does not install or remove packages in {where} (labcloud runs offline); "
             "the {what} uses the packages installed beside labcloud.")
# `pip install|uninstall ...` and `python -m pip install|uninstall ...` say so and succeed; every other
# command runs this Python.
_PYTHON_SHIM = """#!/bin/sh
case "$1 $2 $3" in "-m pip install"|"-m pip uninstall"|"-m pip3 install"|"-m pip3 uninstall")
  echo "{note}" >&2; exit 0;;
esac
exec "{python}" "$@"
"""
_PIP_SHIM = """#!/bin/sh
case "$1" in install|uninstall) echo "{note}" >&2; exit 0;; esac
exec "{python}" -m pip "$@"
"""


def command_shims(folder: Path, where: str = "processing jobs", what: str = "job") -> Path:
    """Write the shims into `folder` (made if missing) and return it, for the front of PATH. `where` and
    `what` word the note pip prints ("processing jobs"/"job", "CodeBuild builds"/"build")."""
    folder.mkdir(parents=True, exist_ok=True)
    note = _PIP_NOTE.format(where=where, what=what)
    scripts = {}
    for names, template in ((("python", "python3"), _PYTHON_SHIM), (("pip", "pip3"), _PIP_SHIM)):
        for name in names:
            scripts[name] = template.format(note=note, python=sys.executable)
    for name, text in scripts.items():
        shim = folder / name
        if not shim.is_file() or shim.read_text() != text:
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text)
            tmp.chmod(0o755)
            os.replace(tmp, shim)  # atomic: a job starting meanwhile sees the old shim or the new one
    return folder
