"""The stacks engine's template parsing and parameters: YAML short forms, JSON, and the format errors
CloudFormation refuses before it makes anything."""

from __future__ import annotations

import json

import pytest

from labcloud.runtime.stacks import StackError, deploy
from labcloud.runtime.stacks.handlers import HANDLERS
from labcloud.runtime.stacks.parameters import resolve
from labcloud.runtime.stacks.template import load, parse
from tests.support.fake_aws import FakeCloud

ROLE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties: {RoleName: r}
"""


def test_yaml_short_forms_become_the_long_forms():
    document = load("""
AWSTemplateFormatVersion: 2010-09-09
Resources:
  A:
    Type: AWS::IAM::Role
    Properties:
      One: !Ref Name
      Two: !GetAtt Bucket.Arn
      Dotted: !GetAtt Thing.Endpoint.Address
      Three: !Sub "${AWS::Region}-x"
      Four: !Sub ["${X}", {X: !Ref Name}]
      Five: !Join ["-", [a, !Ref Name]]
      Six: !If [IsProd, !Select [0, !Split [",", "a,b"]], !Ref AWS::NoValue]
      Seven: !Equals [a, b]
      Eight: !Not [!Condition C]
      Nine: !GetAtt [Bucket, Arn]
      Ten: !Base64 text
""")
    assert document["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    properties = document["Resources"]["A"]["Properties"]
    assert properties == {
        "One": {"Ref": "Name"},
        "Two": {"Fn::GetAtt": ["Bucket", "Arn"]},
        "Dotted": {"Fn::GetAtt": ["Thing", "Endpoint.Address"]},
        "Three": {"Fn::Sub": "${AWS::Region}-x"},
        "Four": {"Fn::Sub": ["${X}", {"X": {"Ref": "Name"}}]},
        "Five": {"Fn::Join": ["-", ["a", {"Ref": "Name"}]]},
        "Six": {"Fn::If": ["IsProd", {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}, {"Ref": "AWS::NoValue"}]},
        "Seven": {"Fn::Equals": ["a", "b"]},
        "Eight": {"Fn::Not": [{"Condition": "C"}]},
        "Nine": {"Fn::GetAtt": ["Bucket", "Arn"]},
        "Ten": {"Fn::Base64": "text"},
    }


def test_the_short_forms_do_not_change_pyyaml_s_own_safe_loader():
    import yaml

    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("a: !Ref b")


def test_a_json_template_is_read_as_json():
    template = parse(json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role"}}}), HANDLERS)
    assert list(template.resources) == ["Role"]


@pytest.mark.parametrize("text, message", [
    ("{not json", "Template format error: JSON not well-formed. (line 1, column 2)"),
    ("Resources: [a\n", "Template format error: YAML not well-formed."),
    ("- a list", "Template format error: The template must be an object"),
    ("Description: nothing", "Template format error: At least one Resources member must be defined."),
    ("Resources: {A: {Type: AWS::IAM::Role}}\nOutput: {}", "Invalid template property or properties [Output]"),
    ("Resources: {A: {Properties: {}}}", "Every Resources object must contain a Type member"),
    ("Resources: {A-b: {Type: AWS::IAM::Role}}", "Resource name A-b is non alphanumeric."),
    ("Resources: {A: {Type: AWS::IAM::Role, Dependson: B}}", "Invalid template resource property 'Dependson'"),
    ("AWSTemplateFormatVersion: '2011-01-01'\nResources: {A: {Type: AWS::IAM::Role}}", "Unsupported template version"),
    ("Transform: AWS::Serverless-2016-10-31\nResources: {A: {Type: AWS::IAM::Role}}", "is not supported"),
    ("Parameters: {P: {Default: x}}\nResources: {A: {Type: AWS::IAM::Role}}", "must contain a Type member"),
    ("Parameters: {P: {Type: Text}}\nResources: {A: {Type: AWS::IAM::Role}}", "Unrecognized parameter type: Text"),
    ("Resources: {A: {Type: AWS::IAM::Role}}\nOutputs: {O: {Description: d}}", "must contain a Value object"),
])
def test_format_errors_are_cloudformation_s(text, message):
    with pytest.raises(StackError) as err:
        parse(text, HANDLERS)
    assert message in str(err.value)


def test_unrecognized_resource_types_are_all_named_before_anything_is_made():
    cloud = FakeCloud()
    text = """
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  One: {Type: AWS::Foo::Bar}
  Two: {Type: AWS::Lambda::Function}
  Three: {Type: AWS::Foo::Bar}
"""
    with pytest.raises(StackError) as err:
        deploy("s", text, {}, cloud)
    assert str(err.value) == ("Template format error: Unrecognized resource types: "
                              "[AWS::Foo::Bar, AWS::Lambda::Function]")
    assert err.value.status is None and cloud.calls == []


# ---- parameters ----

DECLARED = {
    "Name": {"Type": "String"},
    "Stage": {"Type": "String", "AllowedValues": ["staging", "prod"], "Default": "staging"},
    "Count": {"Type": "Number", "Default": 1, "MinValue": 1, "MaxValue": 4},
    "Subnets": {"Type": "CommaDelimitedList", "Default": "a,b"},
    "Code": {"Type": "String", "Default": "ab", "AllowedPattern": "[a-z]+", "MaxLength": 5},
}


def test_given_values_and_defaults_and_what_ref_returns():
    values, texts = resolve(DECLARED, {"Name": "n", "Count": 2})
    assert values == {"Name": "n", "Stage": "staging", "Count": "2", "Subnets": ["a", "b"], "Code": "ab"}
    assert texts == {"Name": "n", "Stage": "staging", "Count": "2", "Subnets": "a,b", "Code": "ab"}


def test_missing_required_parameters_are_named_as_cloudformation_does():
    with pytest.raises(StackError, match=r"^Parameters: \[A, B\] must have values$"):
        resolve({"A": {"Type": "String"}, "B": {"Type": "Number"}, "C": {"Type": "String", "Default": ""}}, {})


def test_a_parameter_the_template_does_not_declare_is_refused():
    with pytest.raises(StackError, match=r"^Parameters: \[Other\] do not exist in the template$"):
        resolve(DECLARED, {"Name": "n", "Other": "x"})


@pytest.mark.parametrize("given, message", [
    ({"Stage": "dev"}, "Parameter 'Stage' must be one of AllowedValues"),
    ({"Count": "two"}, "Parameter 'Count' must be a number."),
    ({"Count": "9"}, "Parameter 'Count' must be a number not greater than 4"),
    ({"Count": "0"}, "Parameter 'Count' must be a number not less than 1"),
    ({"Code": "AB"}, "Parameter 'Code' must match pattern [a-z]+"),
    ({"Code": "abcdef"}, "Parameter 'Code' must contain at most 5 characters"),
])
def test_constraints(given, message):
    with pytest.raises(StackError) as err:
        resolve(DECLARED, {"Name": "n", **given})
    assert str(err.value) == message


def test_a_constraint_description_is_the_message():
    declared = {"Env": {"Type": "String", "AllowedValues": ["a"], "ConstraintDescription": "use a"}}
    with pytest.raises(StackError, match="^Parameter 'Env' failed to satisfy constraint: use a$"):
        resolve(declared, {"Env": "b"})


def test_a_deploy_with_a_missing_parameter_makes_nothing():
    cloud = FakeCloud()
    with pytest.raises(StackError, match=r"Parameters: \[Name\] must have values"):
        deploy("s", "Parameters: {Name: {Type: String}}\n" + ROLE, {}, cloud)
    assert cloud.calls == []
