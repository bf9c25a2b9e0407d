"""The order a stack's resources are made and deleted in, from Ref, Fn::GetAtt, Fn::Sub and DependsOn."""

from __future__ import annotations

import pytest

from labcloud.runtime.stacks import StackError, deploy
from labcloud.runtime.stacks.graph import creation_order, deletion_order
from labcloud.runtime.stacks.plan import make_plan
from tests.support.fake_aws import FakeCloud

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"


def plan(text: str, parameters=None):
    return make_plan(text, parameters or {}, "s", STACK_ID, "us-east-1", "123456789012")


def test_dependencies_come_first_and_otherwise_template_order_holds():
    p = plan("""
Resources:
  Endpoint:
    Type: AWS::IAM::Role
    Properties: {RoleName: !Sub "${Config}-e"}
  Config:
    Type: AWS::IAM::Role
    Properties: {RoleName: !GetAtt Model.Arn}
  Model:
    Type: AWS::IAM::Role
  Alone:
    Type: AWS::IAM::Role
  After:
    Type: AWS::IAM::Role
    DependsOn: [Endpoint]
""")
    assert p.order == ["Model", "Alone", "Config", "Endpoint", "After"]
    assert p.dependencies == {"Endpoint": {"Config"}, "Config": {"Model"}, "Model": set(), "Alone": set(),
                              "After": {"Endpoint"}}


def test_a_cycle_names_the_resources_on_it_and_not_those_waiting_for_it():
    text = """
Resources:
  A: {Type: AWS::IAM::Role, Properties: {RoleName: !Ref B}}
  B: {Type: AWS::IAM::Role, Properties: {RoleName: !GetAtt C.Arn}}
  C: {Type: AWS::IAM::Role, DependsOn: A}
  D: {Type: AWS::IAM::Role, DependsOn: C}
  E: {Type: AWS::IAM::Role}
"""
    cloud = FakeCloud()
    with pytest.raises(StackError) as err:
        deploy("s", text, {}, cloud)
    assert str(err.value) == "Circular dependency between resources: [A, B, C]"
    assert cloud.calls == []


def test_a_resource_depending_on_itself_is_a_cycle():
    with pytest.raises(StackError, match=r"Circular dependency between resources: \[A\]"):
        plan("Resources: {A: {Type: AWS::IAM::Role, Properties: {RoleName: !Ref A}}}")


def test_depends_on_an_unknown_resource_is_refused():
    with pytest.raises(StackError, match=r"Unresolved resource dependencies \[Ghost\] in the Resources block"):
        plan("Resources: {A: {Type: AWS::IAM::Role, DependsOn: Ghost}}")


def test_resources_whose_condition_is_false_do_not_exist():
    text = """
Parameters: {Stage: {Type: String}}
Conditions: {IsProd: !Equals [!Ref Stage, prod]}
Resources:
  Alarm: {Type: AWS::IAM::Role, Condition: IsProd}
  Role:
    Type: AWS::IAM::Role
    Properties: {RoleName: !If [IsProd, !Ref Alarm, plain]}
Outputs:
  Alarm: {Condition: IsProd, Value: !Ref Alarm}
"""
    staging, prod = plan(text, {"Stage": "staging"}), plan(text, {"Stage": "prod"})
    assert staging.order == ["Role"] and staging.outputs == []
    assert prod.order == ["Alarm", "Role"] and prod.outputs == ["Alarm"]


def test_deletion_goes_dependents_first_and_ignores_resources_already_gone():
    assert deletion_order({"Model": set(), "Config": {"Model"}, "Endpoint": {"Config", "Gone"}}) == [
        "Endpoint", "Config", "Model"]
    assert creation_order({"B": set(), "A": set()}) == ["B", "A"]
