"""DataProcessing's filters and join on single records, CSV and JSON, as AWS documents them."""

import json

import pytest

from labcloud.core.errors import ValidationException
from labcloud.services.sagemaker.transform.data_processing import DataProcessing, RecordError


def processing(content="text/csv", accept=None, **given):
    job = {"DataProcessing": given, "TransformInput": {"ContentType": content},
           "TransformOutput": {"Accept": accept or content}}
    return DataProcessing.of(job)


def test_the_defaults_change_nothing():
    assert processing() is None
    assert processing(InputFilter="$", OutputFilter="$", JoinSource="None") is None


def test_csv_input_filter_join_and_output_filter():
    p = processing(InputFilter="$[1:]", JoinSource="Input", OutputFilter="$[0,-1]")
    assert p.model_input(b"c-1,0.5,2\n") == b"0.5,2\n"
    assert p.written(b"c-1,0.5,2\n", b"0.91") == b"c-1,0.91\n"
    assert processing(InputFilter="$[-1]").model_input(b"a,b,c") == b"c"
    assert processing(InputFilter="$[:2]").model_input(b"a,b,c") == b"a,b"


def test_json_records_join_under_sagemaker_output():
    p = processing(content="application/jsonlines", InputFilter="$.features", JoinSource="Input",
                   OutputFilter="$['id']")
    assert json.loads(p.model_input(b'{"id": 7, "features": [1, 2]}')) == [1, 2]
    assert json.loads(p.written(b'{"id": 7, "features": [1, 2]}', b'{"score": 0.3}')) == 7
    joined = processing(content="application/json", JoinSource="Input")
    assert json.loads(joined.written(b'{"id": 7}', b"0.3")) == {"id": 7, "SageMakerOutput": 0.3}


@pytest.mark.parametrize("expression", ["features", "$..deep", "$[*]", "$[a]", "$[1:x]", "$.a[?(@.b)]"])
def test_a_filter_labcloud_cannot_read_is_refused_naming_it(expression):
    with pytest.raises(ValidationException, match="InputFilter"):
        processing(InputFilter=expression)


def test_a_record_the_filter_does_not_fit_is_a_record_error():
    with pytest.raises(RecordError, match="past the record"):
        processing(InputFilter="$[5]").model_input(b"a,b")
    with pytest.raises(RecordError, match="no member"):
        processing(content="application/json", InputFilter="$.missing").model_input(b'{"x": 1}')
