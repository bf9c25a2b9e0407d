"""labcloud's CodeBuild (AWS JSON 1.1, X-Amz-Target CodeBuild_20161006.*): build projects, and builds that
run buildspec.yml as local shell processes."""

from labcloud.services.codebuild.service import SERVICE

__all__ = ["SERVICE"]
