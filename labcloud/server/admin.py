"""labcloud's own routes beside the AWS APIs: its health, what runs now, and LocalStack's health check.

    /_labcloud/health     version and ready to anyone; with the bearer token also pid, URL, state dir and
                          owner pid (labcloud.start() and the CLI use them): strangers learn no pids or paths
    /_labcloud/status     every service's status lines (`labcloud status` prints them), with the token only
    /_localstack/health   what localstack-client and LocalStack tooling ask to see what runs
"""

from __future__ import annotations

import json
import os

from werkzeug.wrappers import Response

from labcloud import __version__

PREFIXES = ("/_labcloud/", "/_localstack/health")


def respond(ctx, registry, path: str, environ: dict) -> Response:
    trusted = ctx.authenticator.bearer_ok(environ)
    if path == "/_labcloud/health":
        info = {"labcloud": __version__, "ready": ctx.ready.is_set() and not ctx.shutting_down.is_set(),
                "authenticated": not ctx.authenticator.open}
        if trusted:
            info.update({"pid": os.getpid(), "endpoint_url": ctx.endpoint_url,
                         "state_dir": str(ctx.state_dir) if ctx.state_dir else None, "owner_pid": ctx.owner_pid})
    elif path == "/_labcloud/status" and not trusted:
        return Response(json.dumps({"message": "labcloud's status is for its own user: send Authorization: "
                                    "Bearer <token> (labcloud status does)."}), status=403,
                        content_type="application/json")
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
