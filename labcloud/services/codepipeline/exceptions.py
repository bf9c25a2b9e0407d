"""CodePipeline's own error shapes, named as botocore's model names them::

    AWSError (labcloud.core.errors)
    ├── ValidationException                    a request or a configuration that cannot be served
    ├── PipelineNameInUseException             CreatePipeline: the name is taken
    ├── PipelineNotFoundException              no pipeline of that name
    ├── PipelineVersionNotFoundException       GetPipeline: no such version
    ├── PipelineExecutionNotFoundException     no execution of that id in that pipeline
    ├── PipelineExecutionNotStoppableException StopPipelineExecution: the execution is not in progress
    ├── DuplicatedStopRequestException         a second stop-and-wait of a Stopping execution
    ├── InvalidStructureException              the pipeline's stages and artifacts do not fit together
    ├── InvalidStageDeclarationException       one stage is ill-formed
    ├── InvalidActionDeclarationException      one action is ill-formed (type, configuration, artifacts)
    ├── InvalidNextTokenException              a nextToken this service did not issue
    ├── StageNotFoundException                 PutApprovalResult, RetryStageExecution: no such stage
    ├── StageNotRetryableException             RetryStageExecution: nothing failed there
    ├── NotLatestPipelineExecutionException    RetryStageExecution: a later execution ran that stage
    ├── ActionNotFoundException                PutApprovalResult: no such approval action
    ├── InvalidApprovalTokenException          PutApprovalResult: not the token of the waiting approval
    ├── ApprovalAlreadyCompletedException      PutApprovalResult: that approval was already answered
    └── ConflictException (409)                the pipeline is busy
"""

from __future__ import annotations

from labcloud.core.errors import AWSError, ValidationException

__all__ = ["ActionNotFoundException", "ApprovalAlreadyCompletedException", "ConflictException",
           "DuplicatedStopRequestException", "InvalidActionDeclarationException", "InvalidApprovalTokenException",
           "InvalidNextTokenException", "InvalidStageDeclarationException", "InvalidStructureException",
           "NotLatestPipelineExecutionException", "PipelineExecutionNotFoundException",
           "PipelineExecutionNotStoppableException", "PipelineNameInUseException", "PipelineNotFoundException",
           "PipelineVersionNotFoundException", "StageNotFoundException", "StageNotRetryableException",
           "ValidationException"]


class PipelineNameInUseException(AWSError):
    code = "PipelineNameInUseException"


class PipelineNotFoundException(AWSError):
    code = "PipelineNotFoundException"


class PipelineVersionNotFoundException(AWSError):
    code = "PipelineVersionNotFoundException"


class PipelineExecutionNotFoundException(AWSError):
    code = "PipelineExecutionNotFoundException"


class PipelineExecutionNotStoppableException(AWSError):
    code = "PipelineExecutionNotStoppableException"


class DuplicatedStopRequestException(AWSError):
    code = "DuplicatedStopRequestException"


class InvalidStructureException(AWSError):
    code = "InvalidStructureException"


class InvalidStageDeclarationException(AWSError):
    code = "InvalidStageDeclarationException"


class InvalidActionDeclarationException(AWSError):
    code = "InvalidActionDeclarationException"


class InvalidNextTokenException(AWSError):
    code = "InvalidNextTokenException"


class StageNotFoundException(AWSError):
    code = "StageNotFoundException"


class StageNotRetryableException(AWSError):
    code = "StageNotRetryableException"


class NotLatestPipelineExecutionException(AWSError):
    code = "NotLatestPipelineExecutionException"


class ActionNotFoundException(AWSError):
    code = "ActionNotFoundException"


class InvalidApprovalTokenException(AWSError):
    code = "InvalidApprovalTokenException"


class ApprovalAlreadyCompletedException(AWSError):
    code = "ApprovalAlreadyCompletedException"


class ConflictException(AWSError):
    code = "ConflictException"
    status = 409
