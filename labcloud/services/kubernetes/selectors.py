"""Label selectors (`-l app=x,tier!=db,env in (a,b),!legacy`) and field selectors (`metadata.name=x`,
`involvedObject.uid=...`) as list and watch take them."""

from __future__ import annotations

import re

from labcloud.services.kubernetes.statuses import bad_request

_SET = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")


def _split(text: str) -> list[str]:
    """Top-level commas only: `env in (a,b),x=y` -> ['env in (a,b)', 'x=y']."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def label_matcher(selector: str | None):
    """A predicate on a labels dict; 400 BadRequest for a selector it cannot read."""
    if not selector:
        return lambda labels: True
    tests = []
    for part in _split(selector):
        part = part.strip()
        match = _SET.match(part)
        if match:
            values = {v.strip() for v in match["values"].split(",") if v.strip()}
            key, negate = match["key"], match["op"] == "notin"
            tests.append(lambda l, k=key, v=values, n=negate: (l.get(k) in v) != n if k in l else n)
        elif "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) != v)
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=").split("=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) == v)
        elif part.startswith("!"):
            tests.append(lambda l, k=part[1:].strip(): k not in l)
        elif re.fullmatch(r"[A-Za-z0-9_./-]+", part):
            tests.append(lambda l, k=part: k in l)
        else:
            raise bad_request(f'unable to parse requirement: found "{part}", expected: !, identifier, or '
                              f"'end of string'")
    return lambda labels: all(test(labels or {}) for test in tests)


def _field(obj: dict, path: str):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return "" if node is None else str(node)


def field_matcher(selector: str | None):
    if not selector:
        return lambda obj: True
    tests = []
    for part in _split(selector):
        if "!=" in part:
            path, value = part.split("!=", 1)
            tests.append(lambda o, p=path.strip(), v=value.strip(): _field(o, p) != v)
        elif "=" in part:
            path, value = part.replace("==", "=").split("=", 1)
            tests.append(lambda o, p=path.strip(), v=value.strip(): _field(o, p) == v)
        else:
            raise bad_request(f'invalid selector: \'{selector}\'; can\'t understand \'{part}\'')
    return lambda obj: all(test(obj) for test in tests)
