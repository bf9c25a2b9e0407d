"""The action types labcloud's CodePipeline runs, one module each, by (category, owner, provider).

    Source/AWS/CodeCommit       codecommit.py       the branch tip as a zip in the artifact store
    Build|Test/AWS/CodeBuild    codebuild.py        a CodeBuild build on the input zip
    Deploy/AWS/CloudFormation   cloudformation.py   a stack through labcloud's stacks engine
    Approval/AWS/Manual         manual_approval.py  waits for PutApprovalResult

base.py says what a provider is; artifacts.py keeps artifacts; stack_records.py the deployed stacks.
"""

from __future__ import annotations

from labcloud.services.codepipeline.actions import cloudformation, codebuild, codecommit, manual_approval
from labcloud.services.codepipeline.actions.base import ActionProvider

PROVIDERS: dict[tuple[str, str, str], ActionProvider] = {
    p.type_id: p for p in (codecommit.PROVIDER, codebuild.PROVIDER, codebuild.TEST_PROVIDER,
                           cloudformation.PROVIDER, manual_approval.PROVIDER)}

__all__ = ["PROVIDERS", "ActionProvider"]
