"""The record of a batch transform job: its DescribeTransformJob answer (it needs no bookkeeping of
labcloud's own: what runs it lives in its worker)."""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass
class TransformJob:
    description: dict  # DescribeTransformJob

    @property
    def status(self) -> str:
        return self.description["TransformJobStatus"]

    def snapshot(self) -> dict:
        return copy.deepcopy(self.description)
