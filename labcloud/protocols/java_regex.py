"""The Java regular expressions of AWS's service models, as Python regexes.

AWS's services are written in Java and check a member's ``pattern`` with java.util.regex. Python's ``re``
reads most of that syntax alike; what it lacks is rewritten here: ``\\p{..}`` and ``\\P{..}`` classes
(POSIX and Unicode categories), ``\\z`` and ``\\Z``, UTF-16 surrogate pairs written as two ``\\u``
escapes, and a quantified ``$``. A pattern that still cannot be read is skipped (compile_pattern gives None).
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
import warnings

__all__ = ["compile_pattern"]

# Java's POSIX classes are ASCII-only unless UNICODE_CHARACTER_CLASS is set (AWS does not set it).
_POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": r"\x00-\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "".join("\\" + c for c in string.punctuation),
    "Graph": r"\x21-\x7e", "Print": r"\x20-\x7e", "Blank": r" \t", "Cntrl": r"\x00-\x1f\x7f",
    "XDigit": "0-9a-fA-F", "Space": r" \t\n\x0b\f\r",
}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_LOW_SURROGATE = re.compile(r"[dD][c-fC-F][0-9a-fA-F]{2}")
_QUANTIFIER = re.compile(r"\{(\d+)(,\d*)?\}|[*+?]")


class _Untranslatable(Exception):
    pass


@functools.cache
def compile_pattern(pattern: str):
    """The model's Java pattern as a compiled Python regex, or None when it cannot be (then skipped)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Java's nested classes look like "possible nested set"
            # re.ASCII: Java's \d \w \s are ASCII-only by default, as here.
            return re.compile(translate(pattern), re.ASCII)
    except (re.error, _Untranslatable, ValueError):
        return None


def translate(pattern: str) -> str:
    """Rewrite what Python's re lacks: \\p{..} classes, \\z, UTF-16 surrogate pairs, quantified $."""
    out, i, in_class, n = [], 0, False, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            text, i = _escape(pattern, i, in_class)
        elif in_class:
            in_class = c != "]"
            text, i = c, i + 1
        elif c == "[":
            in_class = True
            text, i = ("[^", i + 2) if pattern[i + 1:i + 2] == "^" else ("[", i + 1)
        elif c == "$":
            text, i = _dollar(pattern, i)
        else:
            text, i = c, i + 1
        out.append(text)
    return "".join(out)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The Python for the escape at pattern[i] (a backslash), and the index after it."""
    e = pattern[i + 1]
    if e in "pP":
        return _property_class(pattern, i, in_class)
    if e == "z":
        return r"\Z", i + 2
    if e == "Z":
        return r"(?=\n?\Z)", i + 2
    if e == "u" and _HEX4.fullmatch(pattern, i + 2, i + 6):
        return _utf16_escape(pattern, i)
    return pattern[i:i + 2], i + 2


def _property_class(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """\\p{name} or \\pL (and \\P, its complement) at pattern[i]."""
    if i + 2 < len(pattern) and pattern[i + 2] == "{":
        end = pattern.index("}", i + 3)
        name = pattern[i + 3:end]
    else:
        end, name = i + 2, pattern[i + 2:i + 3]
    body = _class_body(name)
    if pattern[i + 1] == "P":
        if in_class:
            raise _Untranslatable(pattern)
        return f"[^{body}]", end + 1
    return (body if in_class else f"[{body}]"), end + 1


def _utf16_escape(pattern: str, i: int) -> tuple[str, int]:
    """\\uXXXX at pattern[i]; with a second \\uXXXX after it that completes a surrogate pair, the one code
    point the pair stands for (Java sees UTF-16; a pair is one code point above U+FFFF)."""
    high = int(pattern[i + 2:i + 6], 16)
    low = pattern[i + 8:i + 12] if pattern[i + 6:i + 8] == "\\u" else ""
    if 0xD800 <= high <= 0xDBFF and _LOW_SURROGATE.fullmatch(low):
        code = 0x10000 + ((high - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        return f"\\U{code:08x}", i + 12
    return pattern[i:i + 6], i + 6


def _dollar(pattern: str, i: int) -> tuple[str, int]:
    """A $ outside a class. Java lets a zero-width $ be quantified ("${1,128}"); Python does not."""
    quantifier = _QUANTIFIER.match(pattern, i + 1)
    if not quantifier:
        return "$", i + 1
    optional = quantifier.group(0) in ("*", "?") or quantifier.group(1) == "0"
    return ("" if optional else "$"), i + 1 + len(quantifier.group(0))


def _class_body(name: str) -> str:
    """The inside of a character class for Java's \\p{name}."""
    if name in _POSIX:
        return _POSIX[name]
    category = name[2:] if name.startswith("Is") else name
    table = _unicode_categories()
    if category in table:
        return table[category]
    raise _Untranslatable(name)


@functools.cache
def _unicode_categories() -> dict[str, str]:
    """Unicode general categories (L, Lu, N, ...) as class bodies of code-point ranges; built once."""
    runs: dict[str, list[list[int]]] = {}
    previous, ranges = None, None
    for code in range(0x110000):
        category = unicodedata.category(chr(code))
        if category != previous:
            ranges = runs.setdefault(category, [])
            ranges.append([code, code])
            previous = category
        else:
            ranges[-1][1] = code
    for major in {c[0] for c in list(runs)}:  # "L" is the union of Lu, Ll, Lt, Lm, Lo
        runs[major] = sorted(r for c, rs in runs.items() if len(c) == 2 and c[0] == major for r in rs)
    return {key: "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)
            for key, ranges in runs.items()}
