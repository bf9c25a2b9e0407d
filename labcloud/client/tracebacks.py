"""Errors that show: importing the SageMaker SDK v2 installs rich's traceback hook (sagemaker-core does it
on import), which replaces IPython's own way of reporting an exception. In a kernel run by nbclient (nbconvert,
nbgrader's autograding, the book's lab pages) a failing cell then records no exception type or message,
and a learner's feedback says only that showtraceback was disabled. labcloud puts the standard reporting
back once the SDK is imported (prompt_waiters calls keep_plain), so a failing cell shows its exception as
Jupyter always does."""

from __future__ import annotations

import sys

_HOOKS = ("_showtraceback", "showtraceback", "showsyntaxerror")


def _is_rich(function) -> bool:
    return str(getattr(function, "__module__", "") or "").startswith("rich.")


def keep_plain() -> None:
    """Undo rich's traceback hook where it is installed: IPython's shell and sys.excepthook."""
    if _is_rich(sys.excepthook):
        sys.excepthook = sys.__excepthook__
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return
    for name in _HOOKS:
        if _is_rich(shell.__dict__.get(name)):
            del shell.__dict__[name]  # the shell's own method answers again
