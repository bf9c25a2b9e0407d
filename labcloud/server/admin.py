"""labcloud's own routes beside the AWS APIs: its health, what runs now, and LocalStack's health check.

    /_labcloud/health     version, pid, URL, state dir, ready, owner pid (labcloud.start() and the CLI use it)
    /_labcloud/status     every service's status lines (`labcloud status` prints them)
    /_localstack/health   what localstack-client and LocalStack tooling ask to see what runs
"""

from __future__ import annotations

import json
import os

from werkzeug.wrappers import Response

from labcloud import __version__

PREFIXES = ("/_labcloud/", "/_localstack/health")


def respond(ctx, registry, path: str) -> Response:
    if path == "/_labcloud/health":
        info = {"labcloud": __version__, "pid": os.getpid(), "endpoint_url": ctx.endpoint_url,
                "state_dir": str(ctx.state_dir) if ctx.state_dir else None,
                "ready": ctx.ready.is_set() and not ctx.shutting_down.is_set(), "owner_pid": ctx.owner_pid}
    elif path == "/_labcloud/status":
        info = {"labcloud": __version__, "pid": os.getpid(), **registry.status()}
        if damaged := ctx.damage.findings():
            info["damaged_state"] = damaged
    elif path == "/_localstack/health":
        info = {"edition": "labcloud", "version": __version__,
                "services": {name: "running" for name in registry.health_names()}}
    else:
        return Response(json.dumps({"message": f"No such labcloud route: {path}"}), status=404,
                        content_type="application/json")
    return Response(json.dumps(info), content_type="application/json")
