"""EventBridge's matching rules (labcloud/platform/event_patterns.py), as AWS's event pattern guide
describes them."""

from __future__ import annotations

import json

import pytest

from labcloud.platform.event_patterns import PatternError, check, matches

PUSH = {"version": "0", "id": "1", "detail-type": "CodeCommit Repository State Change", "source": "aws.codecommit",
        "account": "123456789012", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:repo"],
        "detail": {"event": "referenceUpdated", "referenceType": "branch", "referenceName": "main",
                   "commitId": "abc123", "size": 300, "tags": ["a", "b"], "nothing": None, "flag": False,
                   "files": [{"name": "a.py", "lines": 10}, {"name": "b.md", "lines": 2}]}}


def test_the_codecommit_push_pattern_matches_a_push_to_main_only():
    pattern = {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
               "resources": ["arn:aws:codecommit:us-east-1:123456789012:repo"],
               "detail": {"referenceType": ["branch"], "referenceName": ["main"]}}
    assert matches(pattern, PUSH)
    assert matches(json.dumps(pattern), PUSH)  # as a rule stores it
    other_branch = {**PUSH, "detail": {**PUSH["detail"], "referenceName": "dev"}}
    assert not matches(pattern, other_branch)
    assert not matches({**pattern, "resources": ["arn:aws:codecommit:us-east-1:123456789012:other"]}, PUSH)
    assert not matches({**pattern, "source": ["aws.sagemaker"]}, PUSH)


@pytest.mark.parametrize("field, entries, expected", [
    ("referenceName", ["main", "dev"], True),  # one of the values
    ("referenceName", ["Main"], False),  # case matters
    ("size", [300], True),
    ("size", [3.0e2], True),  # numbers compare as numbers
    ("size", ["300"], False),  # a string is not a number
    ("tags", ["b"], True),  # an event list matches when one element does
    ("tags", ["c"], False),
    ("nothing", [None], True),
    ("flag", [False], True),
    ("flag", [0], False),  # false is not 0
    ("missing", [None], False),  # null matches a null, not a missing field
    ("referenceName", [{"prefix": "ma"}], True),
    ("referenceName", [{"prefix": "ain"}], False),
    ("referenceName", [{"prefix": {"equals-ignore-case": "MA"}}], True),
    ("referenceName", [{"suffix": "ain"}], True),
    ("referenceName", [{"suffix": {"equals-ignore-case": "AIN"}}], True),
    ("referenceName", [{"equals-ignore-case": "MAIN"}], True),
    ("referenceName", [{"wildcard": "m*n"}], True),
    ("referenceName", [{"wildcard": "m*x"}], False),
    ("commitId", [{"wildcard": "abc\\*"}], False),  # an escaped star is a star
    ("referenceName", [{"anything-but": "dev"}], True),
    ("referenceName", [{"anything-but": ["dev", "main"]}], False),
    ("referenceName", [{"anything-but": {"prefix": "ma"}}], False),
    ("referenceName", [{"anything-but": {"suffix": "ev"}}], True),
    ("missing", [{"anything-but": "dev"}], False),  # anything-but needs the field
    ("size", [{"anything-but": 301}], True),
    ("size", [{"numeric": [">", 0, "<=", 300]}], True),
    ("size", [{"numeric": [">", 300]}], False),
    ("size", [{"numeric": ["=", 300]}], True),
    ("referenceName", [{"numeric": [">", 0]}], False),  # numeric matches numbers only
    ("commitId", [{"exists": True}], True),
    ("commitId", [{"exists": False}], False),
    ("missing", [{"exists": False}], True),
    ("missing", [{"exists": True}], False),
    ("files", [{"exists": True}], True),
    ("referenceName", ["dev", {"prefix": "m"}], True),  # entries are alternatives
])
def test_one_field_of_the_detail(field, entries, expected):
    assert matches({"detail": {field: entries}}, PUSH) is expected


def test_exists_looks_at_leaves_only():
    # AWS: "Exists matching only works on leaf nodes": an object is no value, a list of values is.
    assert not matches({"detail": [{"exists": True}]}, PUSH)
    assert matches({"detail": [{"exists": False}]}, PUSH)
    assert matches({"detail": {"tags": [{"exists": True}]}}, PUSH)
    assert matches({"detail": {"exists": [{"exists": False}]}}, PUSH)  # a field named "exists" is just a field


def test_nested_objects_and_lists_of_objects():
    assert matches({"detail": {"files": {"name": ["a.py"], "lines": [10]}}}, PUSH)
    # Fields of one pattern object must come from the same element of the list.
    assert not matches({"detail": {"files": {"name": ["a.py"], "lines": [2]}}}, PUSH)
    assert not matches({"detail": {"referenceName": {"inner": ["x"]}}}, PUSH)  # not an object in the event
    assert not matches({"detail": {"missing": {"inner": ["x"]}}}, PUSH)


def test_every_field_must_match_and_or_takes_alternatives():
    assert not matches({"source": ["aws.codecommit"], "detail": {"referenceName": ["dev"]}}, PUSH)
    either = {"detail": {"$or": [{"referenceName": ["dev"]}, {"commitId": ["abc123"]}]}}
    assert matches(either, PUSH)
    neither = {"detail": {"$or": [{"referenceName": ["dev"]}, {"commitId": ["zzz"]}]}}
    assert not matches(neither, PUSH)
    top = {"source": ["aws.codecommit"], "$or": [{"region": ["eu-west-1"]}, {"account": ["123456789012"]}]}
    assert matches(top, PUSH)


def test_an_empty_pattern_matches_everything():
    assert matches({}, PUSH)


@pytest.mark.parametrize("pattern, message", [
    ("{not json", "not valid JSON"),
    ("[1]", "must be a JSON object"),
    ({"source": "aws.codecommit"}, 'write ["aws.codecommit"]'),
    ({"source": []}, "empty list"),
    ({"source": [["a"]]}, "list inside a list"),
    ({"source": [{"prefix": 1}]}, "prefix takes a string"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "exactly one key"),
    ({"source": [{"numeric": [">"]}]}, "operator and number pairs"),
    ({"source": [{"numeric": ["~", 1]}]}, "unknown numeric operator"),
    ({"source": [{"numeric": [">", "1"]}]}, "is not a number"),
    ({"source": [{"exists": "yes"}]}, "exists takes true or false"),
    ({"source": [{"regex": "a"}]}, "unknown matcher"),
    ({"source": [{"anything-but": {"numeric": [">", 1]}}]}, "anything-but takes"),
    ({"source": [{"anything-but": [{"prefix": "a"}]}]}, "plain values"),
    ({"$or": [{"source": ["a"]}]}, "at least two patterns"),
])
def test_patterns_eventbridge_refuses(pattern, message):
    with pytest.raises(PatternError, match=message.replace("[", r"\[").replace("(", r"\(")):
        check(pattern)
    assert not matches(pattern, PUSH)  # such a pattern matches nothing
