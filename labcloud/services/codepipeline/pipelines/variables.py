"""Variables in action configurations: `#{variables.NAME}` (the pipeline's, V2), `#{codepipeline.
PipelineExecutionId}` and `#{<namespace>.<name>}` (an earlier action's output variables, under the namespace
its declaration gives). A reference that nothing defines fails the action that uses it."""

from __future__ import annotations

import re

from labcloud.services.codepipeline.actions.base import ActionFailed

_REFERENCE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}")


def resolve(configuration: dict, scopes: dict[str, dict[str, str]]) -> dict:
    """The configuration with every reference replaced; scopes: namespace -> {name: value}."""

    def value(match: re.Match) -> str:
        namespace, name = match.groups()
        scope = scopes.get(namespace)
        if scope is None or name not in scope:
            raise ActionFailed(f"Unable to resolve the variable {match.group(0)}: no {namespace!r} namespace "
                               f"defines {name!r}. Declare the variable, or give the action that sets it this "
                               f"namespace.", code="ConfigurationError")
        return str(scope[name])

    return {key: _REFERENCE.sub(value, text) if isinstance(text, str) else text
            for key, text in configuration.items()}
