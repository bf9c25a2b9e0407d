"""After `labcloud.start()`, every SageMaker SDK v2 session bound to labcloud waits promptly, and a
failing notebook cell still shows its exception (tracebacks.py).

The patching itself is labcloud.client.sdk.install(). The SDK takes seconds to import and
`labcloud.start()` must not, so this module arms it: at once when the SDK is already imported, else
when the `sagemaker` package finishes importing (a finder on sys.meta_path wraps that one import and
steps aside). LABCLOUD_PROMPT_WAITERS=0 disarms the waiters (not the tracebacks).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

from labcloud.client import tracebacks
from labcloud.core import settings


_armed = False


def armed() -> bool:
    return _armed


def _after_sdk_import() -> None:
    tracebacks.keep_plain()
    if _armed:
        _install()


def _install() -> None:
    loading = sys.modules.get("labcloud.client.sdk")
    if loading is not None and not hasattr(loading, "install"):
        return  # labcloud.client.sdk is importing the SDK right now: it installs itself when it is done
    from labcloud.client import sdk

    sdk.install()


class _AfterSageMakerImport(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "sagemaker":
            return None
        sys.meta_path.remove(self)  # once: the import below finds the package the ordinary way
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_install(module):
            exec_module(module)
            _after_sdk_import()

        loader.exec_module = exec_then_install
        return spec


def arm() -> None:
    global _armed
    _armed = bool(settings.read("LABCLOUD_PROMPT_WAITERS"))
    if "sagemaker" in sys.modules:
        _after_sdk_import()
    elif not any(isinstance(f, _AfterSageMakerImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterSageMakerImport())
