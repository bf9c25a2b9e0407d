"""The link that gives every learner the course's labs: opening it on the hub clones the course's git
repository into the learner's home (or merges new commits into an earlier copy, keeping the learner's
edits) and opens JupyterLab on the labs folder.

    python workshops/nbgitpuller_link.py https://hub.example.org https://github.com/ORG/COURSE [--branch main]
"""
from __future__ import annotations

import argparse
from urllib.parse import urlencode, urlparse


def link(hub: str, repository: str, branch: str = "main", folder: str = "labs") -> str:
    clone = urlparse(repository).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode({"repo": repository, "branch": branch, "urlpath": f"lab/tree/{clone}/{folder}"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the nbgitpuller link for the course's labs.")
    parser.add_argument("hub", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("repository", help="the course's git repository, e.g. https://github.com/ORG/COURSE")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--folder", default="labs", help="the folder JupyterLab opens (default: labs)")
    args = parser.parse_args()
    print(link(args.hub, args.repository, args.branch, args.folder))


if __name__ == "__main__":
    main()
