"""`labcloud kubeconfig`: point kubectl at labcloud's Kubernetes API (client/kubeconfig.py)."""

from __future__ import annotations

import sys

from labcloud.client import kubeconfig


def cmd_kubeconfig(args) -> int:
    url = f"http://{args.host}:{args.port}"
    try:
        if args.file:
            path = kubeconfig.write(args.file, url, args.namespace)
            print(f"wrote {path}: its current context is labcloud ({kubeconfig.api_url(url)})\n"
                  f"use it with: export KUBECONFIG={path}")
        else:
            path = kubeconfig.merge(kubeconfig.default_path(), url, args.namespace)
            print(f"merged the context labcloud ({kubeconfig.api_url(url)}) into {path}\n"
                  "use it with: kubectl --context labcloud ...  (or: kubectl config use-context labcloud)")
    except (OSError, ValueError) as err:
        print(f"labcloud kubeconfig: {err}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub, common) -> None:
    parser = sub.add_parser("kubeconfig", help="add a kubectl context named labcloud for labcloud's Kubernetes API")
    common(parser)
    parser.add_argument("--file", help="write a separate kubeconfig here (its current context is labcloud) instead "
                                       "of merging into $KUBECONFIG or ~/.kube/config")
    parser.add_argument("--namespace", default="default", help="the context's namespace (default: default)")
    parser.set_defaults(func=cmd_kubeconfig)
