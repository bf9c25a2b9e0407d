"""CodePipeline (AWS JSON 1.1, X-Amz-Target CodePipeline_20150709.*): pipelines of CodeCommit sources,
CodeBuild builds, CloudFormation deploys and manual approvals that really run."""

from labcloud.services.codepipeline.service import SERVICE

__all__ = ["SERVICE"]
