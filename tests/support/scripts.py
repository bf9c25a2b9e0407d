"""Training code as the SageMaker SDK uploads it: a sourcedir.tar.gz holding the entry point."""

from __future__ import annotations

import io
import tarfile
import textwrap


def sourcedir_tarball(code: str, entry_point: str = "train.py") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = textwrap.dedent(code).encode()
        info = tarfile.TarInfo(entry_point)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
