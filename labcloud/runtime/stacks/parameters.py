"""Parameter values: the given ones checked against their declarations, the defaults filled in.

Ref to a parameter gives its text (a Number too: the resource handlers convert to the API's types), or a
list for CommaDelimitedList and List<Number>."""

from __future__ import annotations

import re

from labcloud.runtime.stacks.errors import StackError


def resolve(declared: dict[str, dict], given: dict) -> tuple[dict[str, object], dict[str, str]]:
    """(values Ref returns, the values as text for the stack's record)."""
    given = {str(k): v for k, v in (given or {}).items()}
    undeclared = [name for name in given if name not in declared]
    if undeclared:
        raise StackError(f"Parameters: [{', '.join(undeclared)}] do not exist in the template")
    missing = [name for name, d in declared.items() if name not in given and "Default" not in d]
    if missing:
        raise StackError(f"Parameters: [{', '.join(missing)}] must have values")
    values, texts = {}, {}
    for name, declaration in declared.items():
        text = _text(given[name] if name in given else declaration["Default"])
        values[name] = _checked(name, declaration, text)
        texts[name] = text
    return values, texts


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _checked(name: str, declaration: dict, text: str):
    kind = declaration["Type"]
    if kind in ("CommaDelimitedList", "List<Number>"):
        items = text.split(",") if text else []
        for item in items:
            _check_value(name, declaration, item, number=kind == "List<Number>")
        return items
    _check_value(name, declaration, text, number=kind == "Number")
    return text


def _check_value(name: str, declaration: dict, text: str, number: bool) -> None:
    def refuse(constraint: str):
        reason = declaration.get("ConstraintDescription")
        raise StackError(f"Parameter '{name}' failed to satisfy constraint: {reason}" if reason
                         else f"Parameter '{name}' {constraint}")

    allowed = declaration.get("AllowedValues")
    if allowed is not None and text not in [_text(v) for v in allowed]:
        refuse("must be one of AllowedValues")
    if number:
        try:
            amount = float(text)
        except ValueError:
            raise StackError(f"Parameter '{name}' must be a number.") from None
        if "MinValue" in declaration and amount < float(declaration["MinValue"]):
            refuse(f"must be a number not less than {declaration['MinValue']}")
        if "MaxValue" in declaration and amount > float(declaration["MaxValue"]):
            refuse(f"must be a number not greater than {declaration['MaxValue']}")
        return
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), text):
        refuse(f"must match pattern {pattern}")
    if "MinLength" in declaration and len(text) < int(declaration["MinLength"]):
        refuse(f"must contain at least {declaration['MinLength']} characters")
    if "MaxLength" in declaration and len(text) > int(declaration["MaxLength"]):
        refuse(f"must contain at most {declaration['MaxLength']} characters")
