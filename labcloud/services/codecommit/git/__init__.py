"""The git program and the bare repositories CodeCommit keeps: running git, a repository's plumbing,
and git's smart HTTP protocol through `git http-backend`."""
