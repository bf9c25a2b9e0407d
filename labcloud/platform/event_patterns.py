"""EventBridge event patterns: does an event match a rule's pattern?

labcloud's services read the rules on the default bus (moto keeps them) and decide themselves which of
their resources an event starts (a CodeCommit push starting a pipeline), so they need EventBridge's
matching rules, which this module implements without tying labcloud to moto's private matcher:

    a pattern is a JSON object; every field it names must match (AND)
    {"f": {...}}                 a nested object of the event (each element, when the event has a list)
    {"f": [v1, v2, ...]}         the event's value matches one of the entries (OR); an event list
                                 matches when one of its elements does
      "text", 12, true, null     equal (numbers compare as numbers: 300 matches 3.0e2)
      {"prefix": "a"}            a string starting with "a" ({"prefix": {"equals-ignore-case": "a"}} too)
      {"suffix": "z"}            a string ending with "z" (likewise)
      {"equals-ignore-case": "x"}
      {"wildcard": "a*z"}        * matches any characters; \\* is a literal star
      {"anything-but": v}        present and not v: v a value, a list of values, or a prefix, suffix,
                                 equals-ignore-case or wildcard object
      {"numeric": [">", 0, "<=", 5]}   a number within every bound given
      {"exists": true|false}     the field is there (as a value, not an object) or is not
    {"$or": [pattern, ...]}      one of the patterns matches (beside the object's other fields)

`matches(pattern, event)` takes the pattern as a dict or as the JSON text a rule stores; `check(pattern)`
raises PatternError for a pattern EventBridge would refuse, and `matches` treats such a pattern as
matching nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["PatternError", "check", "matches"]

_MISSING = object()
_NUMERIC_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "=": lambda a, b: a == b,
                ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_STRING_MATCHERS = ("prefix", "suffix", "equals-ignore-case", "wildcard")


class PatternError(ValueError):
    """A pattern EventBridge would refuse at PutRule."""


def _load(pattern: dict | str) -> dict:
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError as err:
            raise PatternError(f"Event pattern is not valid JSON: {err}") from None
    if not isinstance(pattern, dict):
        raise PatternError("Event pattern must be a JSON object.")
    return pattern


def check(pattern: dict | str) -> dict:
    """The pattern as a dict, once every part of it is one EventBridge accepts."""
    pattern = _load(pattern)
    _check_object(pattern, "")
    return pattern


def matches(pattern: dict | str, event: dict) -> bool:
    try:
        pattern = check(pattern)
    except PatternError:
        return False
    return _object_matches(pattern, event)


# -- checking ------------------------------------------------------------------------------------------
def _check_object(pattern: dict, path: str) -> None:
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(p, dict) for p in value):
                raise PatternError(f"{where}: $or takes a list of at least two patterns.")
            for sub in value:
                _check_object(sub, path)
        elif isinstance(value, dict):
            _check_object(value, where)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{where}: an empty list matches nothing; list the values to match.")
            for entry in value:
                _check_entry(entry, where)
        else:
            raise PatternError(f"{where}: a pattern field takes a list of values or an object, not "
                               f"{json.dumps(value)}; write [{json.dumps(value)}].")


def _check_entry(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        if isinstance(entry, list):
            raise PatternError(f"{where}: a list inside a list is not a pattern.")
        return
    if len(entry) != 1:
        raise PatternError(f"{where}: a matcher object has exactly one key, not {sorted(entry)}.")
    [(kind, arg)] = entry.items()
    if kind in _STRING_MATCHERS:
        _check_string_matcher(kind, arg, where, nested_ok=kind in ("prefix", "suffix"))
    elif kind == "anything-but":
        if isinstance(arg, dict):
            if len(arg) != 1 or next(iter(arg)) not in _STRING_MATCHERS:
                raise PatternError(f"{where}: anything-but takes a value, a list of values, or one of "
                                   f"{list(_STRING_MATCHERS)}.")
            [(inner, inner_arg)] = arg.items()
            _check_string_matcher(inner, inner_arg, where, nested_ok=False)
        elif isinstance(arg, list):
            if not arg or any(isinstance(v, (dict, list)) for v in arg):
                raise PatternError(f"{where}: anything-but's list holds plain values.")
    elif kind == "numeric":
        _check_numeric(arg, where)
    elif kind == "exists":
        if not isinstance(arg, bool):
            raise PatternError(f"{where}: exists takes true or false.")
    else:
        raise PatternError(f"{where}: unknown matcher {kind!r}.")


def _check_string_matcher(kind: str, arg: Any, where: str, nested_ok: bool) -> None:
    if nested_ok and isinstance(arg, dict) and list(arg) == ["equals-ignore-case"]:
        arg = arg["equals-ignore-case"]
    if not isinstance(arg, str):
        raise PatternError(f"{where}: {kind} takes a string.")


def _check_numeric(arg: Any, where: str) -> None:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        raise PatternError(f"{where}: numeric takes operator and number pairs, e.g. [\">\", 0, \"<=\", 5].")
    for op, bound in zip(arg[::2], arg[1::2]):
        if op not in _NUMERIC_OPS:
            raise PatternError(f"{where}: unknown numeric operator {op!r}.")
        if not _is_number(bound):
            raise PatternError(f"{where}: numeric bound {bound!r} is not a number.")


# -- matching ------------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object_matches(pattern: dict, event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(_object_matches(sub, event) for sub in wanted):
                return False
            continue
        value = event.get(key, _MISSING)
        if isinstance(wanted, dict):
            # A nested pattern: the event's object, or one element of the event's list of objects.
            candidates = value if isinstance(value, list) else [value]
            if not any(_object_matches(wanted, c) for c in candidates):
                return False
        elif not _field_matches(wanted, value):
            return False
    return True


def _field_matches(entries: list, value: Any) -> bool:
    for entry in entries:
        if isinstance(entry, dict) and "exists" in entry:
            present = value is not _MISSING and not isinstance(value, dict)
            if isinstance(value, list):
                present = bool(value)
            if present == entry["exists"]:
                return True
            continue
        if value is _MISSING:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_entry_matches(entry, v) for v in values):
            return True
    return False


def _equal(wanted: Any, value: Any) -> bool:
    if _is_number(wanted) and _is_number(value):
        return float(wanted) == float(value)
    if isinstance(wanted, bool) or isinstance(value, bool) or wanted is None or value is None:
        return wanted is value
    return type(wanted) is type(value) and wanted == value


def _entry_matches(entry: Any, value: Any) -> bool:
    if not isinstance(entry, dict):
        return _equal(entry, value)
    [(kind, arg)] = entry.items()
    if kind == "numeric":
        return _is_number(value) and all(_NUMERIC_OPS[op](value, bound) for op, bound in zip(arg[::2], arg[1::2]))
    if kind == "anything-but":
        if isinstance(arg, dict):
            return isinstance(value, str) and not _entry_matches(arg, value)
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_equal(e, value) for e in excluded)
    return isinstance(value, str) and _string_matches(kind, arg, value)


def _string_matches(kind: str, arg: Any, value: str) -> bool:
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "..."}}
        arg, value = arg["equals-ignore-case"].casefold(), value.casefold()
    if kind == "prefix":
        return value.startswith(arg)
    if kind == "suffix":
        return value.endswith(arg)
    if kind == "equals-ignore-case":
        return value.casefold() == arg.casefold()
    return _wildcard(arg).fullmatch(value) is not None


def _wildcard(pattern: str) -> re.Pattern:
    parts, literal, i = [], [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            literal.append(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            parts.append(re.escape("".join(literal)))
            parts.append(".*")
            literal = []
        else:
            literal.append(char)
        i += 1
    parts.append(re.escape("".join(literal)))
    return re.compile("".join(parts), re.DOTALL)
