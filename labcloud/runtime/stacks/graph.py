"""The order resources are made in: each after the resources it refers to or DependsOn names."""

from __future__ import annotations

from labcloud.runtime.stacks.errors import StackError


def creation_order(dependencies: dict[str, set[str]]) -> list[str]:
    """Every resource after its dependencies; among resources free to go, template order. A cycle is
    CloudFormation's error, naming every resource on one."""
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(dependencies)
    while remaining:
        ready = [name for name in remaining if dependencies[name] <= placed]
        if not ready:
            raise StackError(f"Circular dependency between resources: [{', '.join(_on_cycles(dependencies, placed))}]")
        for name in ready:
            order.append(name)
            placed.add(name)
        remaining = [name for name in remaining if name not in placed]
    return order


def deletion_order(dependencies: dict[str, set[str]]) -> list[str]:
    """Dependents before what they depend on. Dependencies on resources outside the set are ignored (a
    stack's record may name resources an earlier operation already removed)."""
    inside = {name: {d for d in deps if d in dependencies} for name, deps in dependencies.items()}
    return list(reversed(creation_order(inside)))


def _on_cycles(dependencies: dict[str, set[str]], placed: set[str]) -> list[str]:
    """The unplaced resources that can reach themselves (not those that merely wait for a cycle)."""
    def reaches_itself(start: str) -> bool:
        seen, stack = set(), [d for d in dependencies[start] if d not in placed]
        while stack:
            name = stack.pop()
            if name == start:
                return True
            if name not in seen:
                seen.add(name)
                stack.extend(d for d in dependencies.get(name, ()) if d not in placed)
        return False

    return [name for name in dependencies if name not in placed and reaches_itself(name)]
