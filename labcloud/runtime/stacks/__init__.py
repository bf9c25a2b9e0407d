"""A small CloudFormation-style engine: a stack made from a YAML or JSON template through boto3 clients
(on labcloud, `ctx.client`), updated in place, and deleted. labcloud does not serve CloudFormation's API;
its services (SageMaker Projects, CodePipeline's CloudFormation actions) deploy templates with this.

    record = deploy(stack_name, template_text, parameters, clients, previous=None, region=..., account_id=...)
    delete(record, clients)

Templates: Parameters (String, Number, CommaDelimitedList, List<Number>; Default, AllowedValues,
AllowedPattern, Min/MaxLength, Min/MaxValue), Mappings, Conditions, Resources (Type, Properties, DependsOn,
Condition, DeletionPolicy, UpdateReplacePolicy), Outputs; the functions in intrinsics.py, with YAML's short
forms (!Ref, !Sub, !GetAtt, ...); the resource types in handlers/. The record is JSON:
{StackName, StackId, StackStatus, Description, Parameters, Outputs, Resources, Events, CreationTime,
LastUpdatedTime}.
"""

from labcloud.runtime.stacks.engine import delete, deploy
from labcloud.runtime.stacks.errors import StackError

__all__ = ["deploy", "delete", "StackError"]
