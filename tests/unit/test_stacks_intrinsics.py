"""The intrinsic functions and conditions, resolved against parameters, pseudo parameters and the
resources a deploy has made so far."""

from __future__ import annotations

import pytest

from labcloud.runtime.stacks import StackError
from labcloud.runtime.stacks.intrinsics import Scope
from labcloud.runtime.stacks.plan import pseudo_parameters
from labcloud.runtime.stacks.template import load

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1234"


class Made:
    """The resources made so far: physical ids and attributes."""

    refs = {"Bucket": "my-bucket", "Model": "arn:aws:sagemaker:us-east-1:123456789012:model/m"}
    attributes = {"Bucket": {"Arn": "arn:aws:s3:::my-bucket"}, "Model": {"ModelName": "m"}}

    def ref(self, logical):
        return self.refs[logical]

    def getatt(self, logical, attribute):
        return self.attributes[logical][attribute]


def scope(parameters=None, conditions=None, mappings=None):
    return Scope({"Stage": "prod", "Count": "2", "Zones": ["a", "b"], **(parameters or {})},
                 pseudo_parameters("demo", STACK_ID, "us-east-1", "123456789012"), mappings or {},
                 conditions or {}, {"Bucket": frozenset({"Arn"}), "Model": frozenset({"ModelName"})})


def resolve(yaml_value, **kwargs):
    return scope(**kwargs).evaluate(load(f"V: {yaml_value}")["V"], Made())


@pytest.mark.parametrize("expression, expected", [
    ("!Ref Stage", "prod"),
    ("!Ref Zones", ["a", "b"]),
    ("!Ref Bucket", "my-bucket"),
    ("!Ref AWS::Region", "us-east-1"),
    ("!Ref AWS::AccountId", "123456789012"),
    ("!Ref AWS::StackName", "demo"),
    ("!Ref AWS::StackId", STACK_ID),
    ("!Ref AWS::Partition", "aws"),
    ("!Ref AWS::URLSuffix", "amazonaws.com"),
    ("!GetAtt Bucket.Arn", "arn:aws:s3:::my-bucket"),
    ("!GetAtt [Model, ModelName]", "m"),
    ('{"Fn::GetAtt": "Model.ModelName"}', "m"),
    ("!Sub '${Stage}-${Bucket}-${Bucket.Arn}-${AWS::Region}'", "prod-my-bucket-arn:aws:s3:::my-bucket-us-east-1"),
    ("!Sub ['${A}/${Stage}', {A: !GetAtt Model.ModelName}]", "m/prod"),
    ("!Sub 'literal ${!Stage} and ${ Stage }'", "literal ${Stage} and prod"),
    ("!Join [':', [a, !Ref Stage, !Ref Count]]", "a:prod:2"),
    ("!Join ['', !Ref Zones]", "ab"),
    ("!Select [1, !Ref Zones]", "b"),
    ("!Select ['0', !Split ['/', 'x/y']]", "x"),
    ("!Split [',', 'a,,b']", ["a", "", "b"]),
    ("!Base64 hi", "aGk="),
    ("!FindInMap [Sizes, !Ref Stage, Instances]", 3),
])
def test_functions(expression, expected):
    assert resolve(expression, mappings={"Sizes": {"prod": {"Instances": 3}}}) == expected


def test_no_value_removes_the_property_or_list_item_that_holds_it():
    value = load("""
V:
  Keep: 1
  Drop: !Ref AWS::NoValue
  Maybe: !If [IsProd, !Ref AWS::NoValue, shown]
  List: [a, !Ref AWS::NoValue, b]
""")["V"]
    assert scope(conditions={"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}).evaluate(value, Made()) == {
        "Keep": 1, "List": ["a", "b"]}


def test_conditions_and_if():
    conditions = {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsStaging": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Count"}, 2]}]},
        "Either": {"Fn::Or": [{"Condition": "IsStaging"}, {"Fn::Equals": ["a", "b"]}]},
    }
    s = scope(conditions=conditions)
    assert [s.condition(name) for name in conditions] == [True, False, True, False]
    assert resolve("!If [IsStaging, small, large]", conditions=conditions) == "large"


def test_condition_errors():
    with pytest.raises(StackError, match="Circular dependency between conditions: \\[A, B\\]"):
        scope(conditions={"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}}
              ).condition("A")
    with pytest.raises(StackError, match="Cannot reference resources in the Conditions block"):
        scope(conditions={"C": {"Fn::Equals": [{"Ref": "Bucket"}, "x"]}}).condition("C")
    with pytest.raises(StackError, match="Unresolved condition dependency Nope"):
        resolve("!If [Nope, a, b]")
    with pytest.raises(StackError, match="a condition must be"):
        scope(conditions={"C": "yes please"}).condition("C")


@pytest.mark.parametrize("expression, message", [
    ("!Ref Nothing", "Template format error: Unresolved resource dependencies [Nothing] in the Resources block"),
    ("!GetAtt Nothing.Arn", "Template error: instance of Fn::GetAtt references undefined resource Nothing"),
    ("!GetAtt Bucket.Size", "Template error: resource Bucket does not support attribute type Size in Fn::GetAtt"),
    ("!Sub '${Nothing}'", "Unresolved resource dependencies [Nothing]"),
    ("!Sub '${a b}'", "variable names in Fn::Sub syntax must contain only alphanumeric characters"),
    ("!Sub '${Zones}'", "variable Zones in Fn::Sub expression does not resolve to a string"),
    ("!Select [5, !Ref Zones]", "Fn::Select cannot select nonexistent value at index 5"),
    ("!Join [',', notalist]", "Fn::Join takes [delimiter, list of values]"),
    ("!FindInMap [Sizes, dev, Instances]", "Unable to get mapping for Sizes::dev::Instances"),
    ("!GetAZs ''", "Encountered unsupported function: Fn::GetAZs Supported functions are: [Ref, "),
    ('{"Fn::Transform": {}}', "Encountered unsupported function: Fn::Transform"),
])
def test_errors_name_what_to_fix(expression, message):
    with pytest.raises(StackError) as err:
        resolve(expression, mappings={"Sizes": {"prod": {"Instances": 3}}})
    assert message in str(err.value)


def test_references_are_found_through_every_function_but_the_branch_not_taken():
    value = load("""
V:
  A: !Ref Bucket
  B: !Sub '${Model.ModelName}-${Stage}-${AWS::Region}-${!Literal}'
  C: !Join ['', [!GetAtt Bucket.Arn]]
  D: !If [IsStaging, !Ref Model, x]
  E: !Select [0, [!Ref Stage]]
""")["V"]
    s = scope(conditions={"IsStaging": {"Fn::Equals": [{"Ref": "Stage"}, "staging"]}})
    assert s.references(value) == {"Bucket", "Model"}
    assert s.references({"D": value["D"]}) == set()  # Model only in the branch not taken
    s.exclude("Model")  # its Condition is false: it does not exist
    with pytest.raises(StackError, match=r"Unresolved resource dependencies \[Model\]"):
        s.references({"Ref": "Model"})
    with pytest.raises(StackError, match=r"in the Outputs block"):
        s.references({"Ref": "Model"}, block="Outputs")
