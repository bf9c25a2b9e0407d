"""CodeCommit's repositories: their records, the operations on them, and the events their changes publish."""
