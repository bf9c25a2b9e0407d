"""The resource types the stacks engine makes, each type's handler in its service's module."""

from __future__ import annotations

from labcloud.runtime.stacks.handlers.base import ResourceHandler
from labcloud.runtime.stacks.handlers.codebuild import Project
from labcloud.runtime.stacks.handlers.codecommit import Repository
from labcloud.runtime.stacks.handlers.codepipeline import Pipeline
from labcloud.runtime.stacks.handlers.eventbridge import Rule
from labcloud.runtime.stacks.handlers.iam import Role
from labcloud.runtime.stacks.handlers.s3 import Bucket
from labcloud.runtime.stacks.handlers.sagemaker import Endpoint, EndpointConfig, Model, ModelPackageGroup

HANDLERS: dict[str, ResourceHandler] = {handler.type_name: handler for handler in (
    Bucket(), ModelPackageGroup(), Model(), EndpointConfig(), Endpoint(), Repository(), Project(), Pipeline(),
    Rule(), Role())}

__all__ = ["HANDLERS", "ResourceHandler"]
