"""Request validation as AWS does it, driven by botocore's service model.

AWS's JSON services check a request in two stages, and so does this module:

1. Deserialization: a JSON value of the wrong type (a string where a number belongs, an object where a
   list belongs) is a ``SerializationException`` with the service framework's own terse message, e.g.
   ``class java.lang.String can not be converted to an Integer``. Members the model does not know are
   ignored, and a JSON ``null`` counts as an absent member (a null list item or map value is a
   violation). A number the member's Java type cannot hold (``NaN``, ``1e400``, ``7.9`` for an integer, a
   timestamp past year 9999) is a ``SerializationException`` too; a whole ``7.0`` reaches the operation as 7.
2. Constraints: required members, enums, lengths, ranges and regular expressions. All violations are
   reported together in one ``ValidationException``::

       2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must
       not be null; Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member
       must have value greater than or equal to 1

   Paths are lowerCamelCase member names; list items of structures are ``containers.1.member.image``
   (1-based); a list or map of scalars is reported once, at the collection, with every constraint of
   its items in brackets (``Member must satisfy constraint: [...]``, ``Map keys must satisfy
   constraint: [...]``, ``Map value must satisfy constraint: [...]``).

Cross-field rules that are documented but not in the model (MaxWait >= MaxRuntime, 2-15 containers,
...) belong to the resource families, which raise them with :func:`require`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import math

import botocore.session

from labcloud.core.errors import SerializationException, UnknownOperationException, ValidationException
from labcloud.protocols.java_regex import compile_pattern as _compile  # (tests reach it as validation._compile)

__all__ = ["validate_request", "require"]

# AWS stops listing violations after ten.
_MAX_ERRORS = 10

_JAVA_NUMBER = {"integer": "Integer", "long": "Long", "float": "Float", "double": "Double"}
_SCALARS = {"string", "integer", "long", "float", "double", "boolean", "timestamp", "blob"}
_WHOLE = {"integer": (-2 ** 31, 2 ** 31 - 1), "long": (-2 ** 63, 2 ** 63 - 1)}  # Java's int and long
_EPOCH_RANGE = (-62135596800, 253402300799)  # 0001-01-01 to 9999-12-31T23:59:59 UTC, what a datetime holds
_SHOWN_CHARS = 8192  # a value longer than this is cut in an error message: errors never echo a huge request


def require(condition: bool, message: str) -> None:
    """Raise AWS's ValidationException with `message` unless `condition` holds (cross-field rules)."""
    if not condition:
        raise ValidationException(message)


def validate_request(operation: str, params: dict, service: str = "sagemaker") -> None:
    """Check `params` (the parsed JSON body) against `operation`'s input shape, as AWS does."""
    model = service_model(service)
    if operation not in model.operation_names:
        raise UnknownOperationException(
            f"Unknown operation {operation!r}: the {service} API has no operation of that name.")
    spec = _input_spec(service, operation)
    if spec is None:  # operations without input (none in SageMaker today)
        return
    errors: list[str] = []
    _check_structure(params, spec, "", errors)
    if errors:
        shown = errors[:_MAX_ERRORS]
        noun = "error" if len(shown) == 1 else "errors"
        raise ValidationException(f"{len(shown)} validation {noun} detected: " + "; ".join(shown))


# --- the model, compiled once into small specs -------------------------------------------------------

class _Spec:
    """What validation needs of one botocore shape, precomputed so a request walk is cheap."""

    __slots__ = ("kind", "min", "max", "pattern", "enum", "sensitive", "members", "member", "key",
                 "value", "rules")


@functools.cache
def service_model(service: str):
    """botocore's model of a service, loaded once (validation and the operations tables share it)."""
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _input_spec(service: str, operation: str) -> _Spec | None:
    shape = service_model(service).operation_model(operation).input_shape
    return None if shape is None else _spec_for(shape, {})


def _spec_for(shape, seen: dict) -> _Spec:
    if shape.name in seen:  # recursive shapes (search expressions) share one spec
        return seen[shape.name]
    spec = seen[shape.name] = _Spec()
    meta = shape.metadata
    spec.kind = shape.type_name
    spec.min, spec.max = meta.get("min"), meta.get("max")
    spec.pattern = meta.get("pattern")
    spec.enum = tuple(meta.get("enum") or ())
    spec.sensitive = bool(meta.get("sensitive"))
    spec.members, spec.member, spec.key, spec.value = {}, None, None, None
    if spec.kind == "structure":
        required = set(meta.get("required", ()))
        for name, member in shape.members.items():
            child = _spec_for(member, seen)
            spec.members[name] = (name[:1].lower() + name[1:], child, name in required)
    elif spec.kind == "list":
        spec.member = _spec_for(shape.member, seen)
    elif spec.kind == "map":
        spec.key, spec.value = _spec_for(shape.key, seen), _spec_for(shape.value, seen)
    spec.rules = _rules(spec)
    return spec


def _rules(spec: _Spec) -> str:
    """Every constraint of a shape, in AWS's order, for the bracketed collection messages."""
    rules = []
    if spec.kind in ("string", "blob", "list", "map"):
        if spec.max is not None:
            rules.append(f"Member must have length less than or equal to {spec.max}")
        if spec.min is not None:
            rules.append(f"Member must have length greater than or equal to {spec.min}")
    elif spec.kind in _JAVA_NUMBER:
        if spec.max is not None:
            rules.append(f"Member must have value less than or equal to {_bound(spec, spec.max)}")
        if spec.min is not None:
            rules.append(f"Member must have value greater than or equal to {_bound(spec, spec.min)}")
    if spec.pattern is not None:
        rules.append(f"Member must satisfy regular expression pattern: {spec.pattern}")
    if spec.enum:
        rules.append(f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")
    return "[" + ", ".join(rules) + "]"


def _bound(spec: _Spec, bound) -> str:
    # Java prints a double bound as 1.0, an integer bound as 1.
    return repr(float(bound)) if spec.kind in ("float", "double") else str(int(bound))


# --- walking a request -------------------------------------------------------------------------------

def _check(value, spec: _Spec, path: str, errors: list) -> None:
    kind = spec.kind
    if kind == "structure":
        _check_structure(value, spec, path, errors)
    elif kind == "list":
        _check_list(value, spec, path, errors)
    elif kind == "map":
        _check_map(value, spec, path, errors)
    else:
        _deserialize(value, kind)
        for message in _violations(value, spec):
            shown = float(value) if kind in ("float", "double") else value  # Java prints -1.0
            errors.append(_describe(shown, spec, path, message))


def _check_structure(value, spec: _Spec, path: str, errors: list) -> None:
    if not isinstance(value, dict):
        raise SerializationException(_type_mismatch(value, "structure"))
    prefix = path + "." if path else ""
    for name, (lower, child, required) in spec.members.items():
        member = value.get(name)
        if member is None:
            if required:
                errors.append(f"Value null at '{prefix}{lower}' failed to satisfy constraint: "
                              "Member must not be null")
            continue
        _check(member, child, prefix + lower, errors)
        if child.kind in _WHOLE and isinstance(member, float):
            value[name] = int(member)


def _check_list(value, spec: _Spec, path: str, errors: list) -> None:
    if not isinstance(value, list):
        raise SerializationException(_type_mismatch(value, "list"))
    for message in _size_violations(len(value), spec):
        errors.append(_describe(value, spec, path, message))
    item = spec.member
    for index, element in enumerate(value, 1):
        if element is None:  # (operations never see a null item)
            errors.append(f"Value null at '{path}.{index}.member' failed to satisfy constraint: "
                          "Member must not be null")
    if item.kind in _SCALARS:
        if _any_scalar_violates(value, item):
            errors.append(_describe(value, item, path, "Member must satisfy constraint: " + item.rules))
        if item.kind in _WHOLE:
            value[:] = [int(v) if isinstance(v, float) else v for v in value]
    else:
        for index, element in enumerate(value, 1):
            if element is not None:
                _check(element, item, f"{path}.{index}.member", errors)


def _any_scalar_violates(elements, spec: _Spec) -> bool:
    """Whether any element of a list or map of scalars breaks a rule (AWS reports the collection once)."""
    bad = False
    for element in elements:
        if element is not None:
            _deserialize(element, spec.kind)  # a wrong type is a SerializationException, raised at once
            bad = bad or bool(_violations(element, spec))
    return bad


def _check_map(value, spec: _Spec, path: str, errors: list) -> None:
    if not isinstance(value, dict):
        raise SerializationException(_type_mismatch(value, "map"))
    for message in _size_violations(len(value), spec):
        errors.append(_describe(value, spec, path, message))
    key_spec, value_spec = spec.key, spec.value
    if any(_violations(key, key_spec) for key in value):
        errors.append(_describe(value, spec, path, "Map keys must satisfy constraint: " + key_spec.rules))
    for key, entry in value.items():
        if entry is None:
            errors.append(f"Value null at '{path}.{key}.member' failed to satisfy constraint: "
                          "Member must not be null")
    if value_spec.kind in _SCALARS:
        if _any_scalar_violates(value.values(), value_spec):
            errors.append(_describe(value, spec, path, "Map value must satisfy constraint: " + value_spec.rules))
        if value_spec.kind in _WHOLE:
            value.update({k: int(v) for k, v in value.items() if isinstance(v, float)})
    else:
        for key, entry in value.items():
            if entry is not None:
                _check(entry, value_spec, f"{path}.{key}.member", errors)


def _size_violations(size: int, spec: _Spec) -> list[str]:
    out = []
    if spec.max is not None and size > spec.max:
        out.append(f"Member must have length less than or equal to {spec.max}")
    if spec.min is not None and size < spec.min:
        out.append(f"Member must have length greater than or equal to {spec.min}")
    return out


def _violations(value, spec: _Spec) -> list[str]:
    """The constraints a (well-typed) scalar breaks, each as AWS words it."""
    kind, out = spec.kind, []
    if kind == "string":
        out = _size_violations(len(value), spec)
        if spec.pattern is not None:
            compiled = _compile(spec.pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(f"Member must satisfy regular expression pattern: {spec.pattern}")
        if spec.enum and value not in spec.enum:
            out.append(f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")
    elif kind in _JAVA_NUMBER:
        number = int(value) if kind in ("integer", "long") else value  # AWS truncates a 1.5 to 1
        if spec.max is not None and number > spec.max:
            out.append(f"Member must have value less than or equal to {_bound(spec, spec.max)}")
        if spec.min is not None and number < spec.min:
            out.append(f"Member must have value greater than or equal to {_bound(spec, spec.min)}")
    elif kind == "blob" and (spec.min is not None or spec.max is not None):
        out = _size_violations(len(_blob_bytes(value)), spec)
    return out


def _describe(value, spec: _Spec, path: str, message: str) -> str:
    shown = "" if spec.sensitive else f" '{_render_clipped(value)}'"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {message}"


def _render_clipped(value) -> str:
    text = _render(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} characters)"


def _render(value) -> str:
    """A value as AWS's Java service prints it: lists [a, b], maps {k=v}, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    return repr(value)


# --- stage 1: JSON types -----------------------------------------------------------------------------

def _deserialize(value, kind: str) -> None:
    """Raise AWS's SerializationException when a scalar's JSON type does not fit the member."""
    if kind == "string":
        ok = isinstance(value, str)
    elif kind in _JAVA_NUMBER:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            _check_number(value, kind)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "timestamp":  # epoch seconds on the wire; an ISO 8601 string is accepted too
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and _is_iso_timestamp(value))
        if ok and not isinstance(value, str) and not _EPOCH_RANGE[0] <= value <= _EPOCH_RANGE[1]:
            raise SerializationException(
                f"{_render_clipped(value)} can not be converted to a Timestamp: epoch seconds must lie between "
                f"{_EPOCH_RANGE[0]} (year 1) and {_EPOCH_RANGE[1]} (year 9999)")
    else:  # blob: base64 text in JSON; bytes when a rest-json payload is handed over raw
        ok = isinstance(value, (bytes, bytearray)) or (isinstance(value, str) and _blob_bytes(value) is not None)
    if not ok:
        raise SerializationException(_type_mismatch(value, kind))


def _check_number(value, kind: str) -> None:
    """A JSON number the member's Java type cannot hold (not finite, a fraction for an integer, beyond the
    type's range) is a SerializationException, as AWS's parser refuses it; CBOR carries such values too."""
    target = _JAVA_NUMBER[kind]
    if isinstance(value, float) and not math.isfinite(value):
        raise SerializationException(f"{_render(value)} can not be converted to an {target}: it is not finite")
    if kind in _WHOLE:
        if isinstance(value, float) and not value.is_integer():
            raise SerializationException(f"{_render(value)} can not be converted to an {target}: it is not a "
                                         "whole number")
        low, high = _WHOLE[kind]
        if not low <= value <= high:
            raise SerializationException(f"{_render_clipped(value)} can not be converted to an {target}: it is "
                                         f"out of range [{low}, {high}]")


def _type_mismatch(value, kind: str) -> str:
    """The Coral framework's wording for a JSON value it cannot read as `kind`."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected"
    if kind == "structure":
        return "Expected null"
    if kind in ("list", "map"):
        return f"Expected {kind} or null"
    if kind == "boolean" and isinstance(value, str):
        return f"'{value.upper()}' can not be converted to an Boolean"
    if kind == "blob" and isinstance(value, str):
        return f"'{value}' can not be converted to a Blob: it is not valid base64 text"
    if kind == "timestamp" and isinstance(value, str):
        return f"'{value}' can not be converted to a Timestamp: use epoch seconds"
    source = ("java.lang.Boolean" if isinstance(value, bool) else
              "java.lang.String" if isinstance(value, str) else
              "com.amazon.coral.value.json.numbers.TruncatingBigNumber")
    target = {"string": "an String", "boolean": "an Boolean", "blob": "a Blob",
              "timestamp": "a Timestamp"}.get(kind) or "an " + _JAVA_NUMBER[kind]
    return f"class {source} can not be converted to {target}"


def _is_iso_timestamp(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _blob_bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
