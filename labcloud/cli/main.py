"""The `labcloud` command: up, status, down, env, bill (cli/bill.py), doctor (cli/doctor.py)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import time
import urllib.error
import urllib.request

from labcloud.core import settings
from labcloud.core.credentials import user_credentials
from labcloud.core.settings import default_state_dir
from labcloud.client.embedded import health
from labcloud.platform.processes import die_with_parent
from labcloud.cli import bill, doctor, kubeconfig


def _url(args) -> str:
    return f"http://{args.host}:{args.port}"


def cmd_up(args) -> int:
    # Imported here: the server brings moto and botocore's models (about a second), which `labcloud status`
    # and `labcloud down` do not need.
    from labcloud.server.lab_server import serve

    owner = None
    if args.exit_with_parent:
        owner = os.getppid()
        die_with_parent()
    if health(_url(args)) is not None:
        print(f"labcloud is already running on {_url(args)}", file=sys.stderr)
        return 1
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: labcloud listens on {args.host}: anyone who can reach it can run code on this machine",
              file=sys.stderr)
    state_dir = None if args.in_memory else (args.state_dir or str(default_state_dir()))
    if args.no_auth:
        print("warning: --no-auth: every local user can use this labcloud, and so run code as you",
              file=sys.stderr)
    try:
        serve(args.host, args.port, state_dir, owner, authenticate=False if args.no_auth else None)
    except OSError as err:
        print(f"labcloud: cannot listen on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_status(args) -> int:
    url = _url(args)
    request = urllib.request.Request(f"{url}/_labcloud/status",
                                     headers={"Authorization": user_credentials().bearer_authorization})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = json.loads(response.read())
    except urllib.error.HTTPError as err:
        if err.code == 403:
            print(f"the labcloud on {url} is another user's: it does not know your labcloud credentials")
            return 4
        print(f"labcloud on {url} answered {err.code}")
        return 3
    except (urllib.error.URLError, OSError):
        print(f"labcloud is not running on {url}")
        return 3
    print(f"labcloud {status.pop('labcloud')} on {url} (pid {status.pop('pid')})")
    for key, value in status.items():
        label = key.replace("_", " ")
        if key == "damaged_state":  # findings (persistence/damage.py): one line each, where the bytes were kept
            print(f"  {label}: {len(value)}")
            for finding in value:
                kept = f" (kept at {finding['kept_at']})" if finding.get("kept_at") else ""
                print(f"    {finding['where']}: {finding['problem']}{kept}")
        elif isinstance(value, list):
            print(f"  {label}: {len(value)}" + (f" ({', '.join(map(str, value))})" if value else ""))
        elif isinstance(value, dict):
            print(f"  {label}: {'none' if not value else ''}")
            for name, item in value.items():
                print(f"    {name}: {', '.join(map(str, item)) if isinstance(item, list) else item}")
        else:
            print(f"  {label}: {value}")
    return 0


def cmd_down(args) -> int:
    url = _url(args)
    info = health(url)
    if info is None:
        print(f"labcloud is not running on {url}")
        return 0
    if "pid" not in info:
        print(f"the labcloud on {url} is another user's: yours to stop only with your credentials", file=sys.stderr)
        return 1
    os.kill(info["pid"], signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if health(url, timeout=0.5) is None:
            print("labcloud stopped")
            return 0
        time.sleep(0.1)
    print(f"labcloud (pid {info['pid']}) did not stop within {args.timeout} s", file=sys.stderr)
    return 1


def cmd_env(args) -> int:
    """Shell lines that point AWS clients (the AWS CLI, boto3, the SDK, git) at labcloud with this user's
    credentials: `eval "$(labcloud env)"`."""
    from labcloud.client.environment import client_environment

    environment = client_environment(_url(args))
    if args.json:
        print(json.dumps(environment, indent=2))
        return 0
    for name, value in environment.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="labcloud", description="The course's offline AWS endpoint.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
        p.add_argument("--port", type=int, default=settings.port())

    up = sub.add_parser("up", help="run the endpoint in the foreground (Ctrl-C stops it and all it started)")
    common(up)
    up.add_argument("--state-dir", help=f"where S3 objects, jobs and logs are kept (default {default_state_dir()})")
    up.add_argument("--in-memory", action="store_true", help="keep nothing after the server stops")
    up.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    up.add_argument("-v", "--verbose", action="store_true", help="log every request")
    up.add_argument("--no-auth", action="store_true",
                    help="serve unsigned requests and any credentials (a workshop's shared server; "
                         "every local user can then run code as you)")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="say what runs")
    common(status)
    status.set_defaults(func=cmd_status)

    down = sub.add_parser("down", help="stop a running endpoint")
    common(down)
    down.add_argument("--timeout", type=float, default=180.0)
    down.set_defaults(func=cmd_down)

    env = sub.add_parser("env", help="print the shell variables that point AWS clients and git at labcloud")
    common(env)
    env.add_argument("--json", action="store_true", help="the variables as JSON")
    env.set_defaults(func=cmd_env)

    bill.add_parser(sub, common)
    doctor.add_parser(sub, common)
    kubeconfig.add_parser(sub, common)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    if not getattr(args, "verbose", False):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sys.exit(args.func(args))
