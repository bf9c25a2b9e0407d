"""The intrinsic functions: Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::If,
Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Base64, Fn::FindInMap, and the conditions they use.

One walker serves two purposes. With a `lookup` (the resources made so far) it resolves a value. Without
one it finds what a value refers to: a reference to a resource is recorded and stands for UNKNOWN, which
every function passes on, so the dependency graph is built from the same rules that later resolve the
value. Conditions refer to parameters only, so Fn::If picks its branch in both passes: a resource named
only in the branch not taken is no dependency.
"""

from __future__ import annotations

import base64
import re
from typing import Protocol

from labcloud.runtime.stacks.errors import StackError, template_error


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_VALUE = _Marker("AWS::NoValue")  # removes the property or list item that holds it
UNKNOWN = _Marker("UNKNOWN")  # a resource's value, not known while the graph is built

FUNCTIONS = ("Ref", "Fn::Base64", "Fn::Equals", "Fn::FindInMap", "Fn::GetAtt", "Fn::If", "Fn::Join",
             "Fn::And", "Fn::Not", "Fn::Or", "Fn::Select", "Fn::Split", "Fn::Sub")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SUB_NAME = re.compile(r"[A-Za-z0-9_.:]+")


class Lookup(Protocol):
    def ref(self, logical: str): ...

    def getatt(self, logical: str, attribute: str): ...


class Scope:
    """What values are resolved against: parameters, pseudo parameters, mappings, conditions, and which
    resources exist (those whose Condition holds) with the attributes their types have."""

    def __init__(self, parameters: dict, pseudo: dict, mappings: dict, conditions: dict,
                 attribute_names: dict[str, frozenset]):
        self.parameters, self.pseudo, self.mappings = parameters, pseudo, mappings
        self._conditions = conditions
        self._condition_values: dict[str, bool] = {}
        self._resolving: list[str] = []
        self.attribute_names = dict(attribute_names)  # logical id -> GetAtt names, of existing resources only

    def exclude(self, logical: str) -> None:
        """The resource's Condition is false: it does not exist, and referring to it is an error."""
        self.attribute_names.pop(logical, None)

    def has_resource(self, logical: str) -> bool:
        return logical in self.attribute_names

    def condition(self, name) -> bool:
        if not isinstance(name, str) or name not in self._conditions:
            raise template_error(f"Unresolved condition dependency {name}: it is not in the Conditions section.")
        if name in self._condition_values:
            return self._condition_values[name]
        if name in self._resolving:
            cycle = self._resolving[self._resolving.index(name):]
            raise template_error(f"Circular dependency between conditions: [{', '.join(cycle)}]")
        self._resolving.append(name)
        try:
            value = Evaluator(self, "Conditions").condition_value(self._conditions[name])
        finally:
            self._resolving.pop()
        self._condition_values[name] = value
        return value

    def evaluate(self, value, lookup: Lookup, block: str = "Resources"):
        return Evaluator(self, block, lookup).evaluate(value)

    def references(self, value, block: str = "Resources") -> set[str]:
        """The resources `value` refers to (Ref, Fn::GetAtt, ${} of Fn::Sub), each checked to exist."""
        evaluator = Evaluator(self, block)
        evaluator.evaluate(value)
        return evaluator.found


class Evaluator:
    def __init__(self, scope: Scope, block: str, lookup: Lookup | None = None):
        self.scope, self.block, self.lookup = scope, block, lookup
        self.found: set[str] = set()

    def evaluate(self, value):
        if isinstance(value, dict):
            if len(value) == 1:
                key, argument = next(iter(value.items()))
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    return self.function(key, argument)
            resolved = ((k, self.evaluate(v)) for k, v in value.items())
            return {k: v for k, v in resolved if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in map(self.evaluate, value) if v is not NO_VALUE]
        return value

    def function(self, key: str, argument):
        method = _METHODS.get(key)
        if method is None:
            raise template_error(f"Encountered unsupported function: {key} Supported functions are: "
                                 f"[{', '.join(FUNCTIONS)}]")
        return method(self, argument)

    # ---- references ----

    def ref(self, name):
        if not isinstance(name, str):
            raise StackError("Template error: Ref takes the name of a parameter or resource as a string.")
        if name in self.scope.pseudo:
            return self.scope.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.scope.parameters:
            return self.scope.parameters[name]
        if self.block != "Conditions" and self.scope.has_resource(name):
            return self._resource(name, None)
        raise self._unresolved(name)

    def getatt(self, argument):
        if isinstance(argument, str):
            logical, _, attribute = argument.partition(".")
        elif isinstance(argument, list) and len(argument) == 2:
            logical, attribute = argument[0], self.evaluate(argument[1])
        else:
            raise StackError("Template error: Fn::GetAtt takes [logical name, attribute name].")
        if self.block == "Conditions":
            raise self._unresolved(logical)
        if not isinstance(attribute, str):
            raise StackError(f"Template error: Fn::GetAtt's attribute name must be a string, not {attribute!r}")
        if not isinstance(logical, str) or not self.scope.has_resource(logical):
            raise StackError(f"Template error: instance of Fn::GetAtt references undefined resource {logical}")
        if attribute not in self.scope.attribute_names[logical]:
            raise StackError(f"Template error: resource {logical} does not support attribute type {attribute} "
                             "in Fn::GetAtt")
        return self._resource(logical, attribute)

    def _resource(self, logical: str, attribute: str | None):
        if self.lookup is None:
            self.found.add(logical)
            return UNKNOWN
        return self.lookup.ref(logical) if attribute is None else self.lookup.getatt(logical, attribute)

    def _unresolved(self, name) -> StackError:
        if self.block == "Conditions":
            return template_error(f"Unresolved dependencies [{name}]. Cannot reference resources in the "
                                  "Conditions block of the template")
        return template_error(f"Unresolved resource dependencies [{name}] in the {self.block} block of the template")

    # ---- strings and lists ----

    def sub(self, argument):
        if isinstance(argument, str):
            text, variables = argument, {}
        elif (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)
              and isinstance(argument[1], dict)):
            text, variables = argument[0], {k: self.evaluate(v) for k, v in argument[1].items()}
        else:
            raise StackError("Template error: Fn::Sub takes a string or [string, {variable: value}].")
        unknown = False

        def replace(match: re.Match) -> str:
            nonlocal unknown
            inner = match.group(1)
            if inner.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + inner[1:] + "}"
            name = inner.strip()
            if not _SUB_NAME.fullmatch(name):
                raise StackError("Template error: variable names in Fn::Sub syntax must contain only "
                                 "alphanumeric characters, underscores, periods, and colons")
            if name in variables:
                value = variables[name]
            elif "." in name and name not in self.scope.parameters:
                value = self.getatt(name)
            else:
                value = self.ref(name)
            if value is UNKNOWN:
                unknown = True
                return ""
            if isinstance(value, (list, dict)) or value is NO_VALUE:
                raise StackError(f"Template error: variable {name} in Fn::Sub expression does not resolve "
                                 "to a string")
            return _string(value)

        result = _SUB_VARIABLE.sub(replace, text)
        return UNKNOWN if unknown else result

    def join(self, argument):
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise StackError("Template error: Fn::Join takes [delimiter, list of values].")
        items = self.evaluate(argument[1])
        if items is UNKNOWN or (isinstance(items, list) and UNKNOWN in items):
            return UNKNOWN
        if not isinstance(items, list) or any(isinstance(i, (list, dict)) for i in items):
            raise StackError("Template error: Fn::Join takes [delimiter, list of values]: the values must be "
                             "a list of strings.")
        return argument[0].join(_string(i) for i in items)

    def select(self, argument):
        if not (isinstance(argument, list) and len(argument) == 2):
            raise StackError("Template error: Fn::Select takes [index, list of values].")
        index, items = self.evaluate(argument[0]), self.evaluate(argument[1])
        if index is UNKNOWN or items is UNKNOWN:
            return UNKNOWN
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise StackError(f"Template error: Fn::Select's index must be a number, not {index!r}") from None
        if not isinstance(items, list):
            raise StackError("Template error: Fn::Select takes [index, list of values].")
        if not 0 <= position < len(items):
            raise StackError(f"Template error: Fn::Select cannot select nonexistent value at index {position}")
        return items[position]

    def split(self, argument):
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise StackError("Template error: Fn::Split takes [delimiter, string].")
        source = self.evaluate(argument[1])
        if source is UNKNOWN:
            return UNKNOWN
        if not isinstance(source, str) or not argument[0]:
            raise StackError("Template error: Fn::Split takes [delimiter, string].")
        return source.split(argument[0])

    def base64(self, argument):
        value = self.evaluate(argument)
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, str):
            raise StackError("Template error: Fn::Base64 takes a string.")
        return base64.b64encode(value.encode()).decode()

    def find_in_map(self, argument):
        if not (isinstance(argument, list) and len(argument) == 3):
            raise StackError("Template error: Fn::FindInMap takes [map name, top-level key, second-level key].")
        keys = [self.evaluate(a) for a in argument]
        if UNKNOWN in keys:
            return UNKNOWN
        try:
            return self.scope.mappings[keys[0]][keys[1]][keys[2]]
        except (KeyError, TypeError):
            raise StackError(f"Template error: Unable to get mapping for {keys[0]}::{keys[1]}::{keys[2]}") from None

    # ---- conditions ----

    def if_(self, argument):
        if not (isinstance(argument, list) and len(argument) == 3):
            raise StackError("Template error: Fn::If takes [condition name, value if true, value if false].")
        return self.evaluate(argument[1] if self.scope.condition(argument[0]) else argument[2])

    def equals(self, argument):
        if not (isinstance(argument, list) and len(argument) == 2):
            raise StackError("Template error: Fn::Equals takes [value, value].")
        left, right = self.evaluate(argument[0]), self.evaluate(argument[1])
        if UNKNOWN in (left, right):
            return UNKNOWN
        return _string(left) == _string(right)

    def not_(self, argument):
        if not (isinstance(argument, list) and len(argument) == 1):
            raise StackError("Template error: Fn::Not takes a list of one condition.")
        value = self.condition_value(argument[0])
        return UNKNOWN if value is UNKNOWN else not value

    def and_(self, argument):
        values = self._conditions(argument, "Fn::And")
        return UNKNOWN if UNKNOWN in values else all(values)

    def or_(self, argument):
        values = self._conditions(argument, "Fn::Or")
        return UNKNOWN if UNKNOWN in values else any(values)

    def _conditions(self, argument, name: str) -> list:
        if not (isinstance(argument, list) and 2 <= len(argument) <= 10):
            raise StackError(f"Template error: {name} takes a list of 2 to 10 conditions.")
        return [self.condition_value(a) for a in argument]

    def condition_value(self, expression):
        """A condition: {"Condition": name}, or a function giving true or false."""
        if isinstance(expression, dict) and list(expression) == ["Condition"]:
            return self.scope.condition(expression["Condition"])
        value = self.evaluate(expression)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if value is not UNKNOWN and not isinstance(value, bool):
            raise StackError("Template error: a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or "
                             f"{{Condition: name}}, not {expression!r}")
        return value


_METHODS = {"Ref": Evaluator.ref, "Fn::GetAtt": Evaluator.getatt, "Fn::Sub": Evaluator.sub,
            "Fn::Join": Evaluator.join, "Fn::Select": Evaluator.select, "Fn::Split": Evaluator.split,
            "Fn::Base64": Evaluator.base64, "Fn::FindInMap": Evaluator.find_in_map, "Fn::If": Evaluator.if_,
            "Fn::Equals": Evaluator.equals, "Fn::Not": Evaluator.not_, "Fn::And": Evaluator.and_,
            "Fn::Or": Evaluator.or_}


def _string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_output(value) -> str:
    """An output's value as DescribeStacks shows it: text (a list joined with commas)."""
    if isinstance(value, list):
        return ",".join(_string(v) for v in value)
    return _string(value)
