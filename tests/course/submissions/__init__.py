"""Kept submissions per lab: wrong answers and right answers that differ from the reference, each with
the autograded score it must get. A submission is the instructor notebook with some answer cells
changed; `SUBMISSIONS` maps a lab to its list (one module per lab, named after it)."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

Edit = Callable[[str], str]


@dataclass(frozen=True)
class Submission:
    name: str
    score: float  # the autograded score it must get
    why: str      # what it does differently, and why it earns that score
    edits: dict[str, Edit] = field(default_factory=dict)  # grade_id of an answer cell -> its new source


def replace(old: str, new: str) -> Edit:
    """An edit that replaces one passage of the reference answer; fails loudly once the answer changes."""
    def edit(source: str) -> str:
        assert old in source, f"the reference answer no longer holds {old!r}: update this submission"
        return source.replace(old, new)
    return edit


def chain(*edits: Edit) -> Edit:
    """Several edits of one cell, in order."""
    def edit(text: str) -> str:
        for one in edits:
            text = one(text)
        return text
    return edit


def source(text: str) -> Edit:
    """An edit that replaces the whole cell."""
    return lambda _: text.strip("\n")


def _load() -> dict[str, list[Submission]]:
    """Every module here, by the lab it is named after (instance_types: labs/instance-types)."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        found[module.name.replace("_", "-")] = importlib.import_module(f"{__name__}.{module.name}").SUBMISSIONS
    return dict(sorted(found.items()))


SUBMISSIONS = _load()
