"""CodeCommit (AWS JSON 1.1, X-Amz-Target CodeCommit_20150413.*): repositories that are real git
repositories, served over git smart HTTP at {endpoint_url}/v1/repos/<name>."""

from labcloud.services.codecommit.service import SERVICE

__all__ = ["SERVICE"]
