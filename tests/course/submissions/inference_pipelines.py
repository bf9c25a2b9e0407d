"""Kept submissions of the inference-pipelines lab (11 autograded points: preprocessing handlers 2,
pipeline endpoint 3, batch transform 3, customer ids kept beside the predictions 3)."""
from tests.course.submissions import Submission, chain, replace

FULL = 11

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "the batch output parsed with pandas instead of numpy, the transform's input given a payload "
        "limit, the ids' output filter naming its columns by position from the start and the scored "
        "table a NumPy array: all right",
        {
            "answer-batch-transform": chain(
                replace('strategy="MultiRecord", assemble_with="Line", accept="text/csv",',
                        'strategy="MultiRecord", assemble_with="Line", accept="text/csv", max_payload=1,'),
                replace('batch_predictions = np.loadtxt(io.StringIO(batch_output), delimiter=",", ndmin=2)',
                        'batch_predictions = pd.read_csv(io.StringIO(batch_output), header=None).to_numpy(dtype=float)'),
            ),
            "answer-keep-ids": chain(
                replace('output_filter="$[0,-2,-1]"', 'output_filter="$[0,5,6]"'),
                replace('scored = pd.read_csv(io.StringIO(ids_output), header=None,\n'
                        '                     names=["customer_id", "predicted_class", "probability"])',
                        'scored = np.loadtxt(io.StringIO(ids_output), delimiter=",", ndmin=2)'),
            ),
        },
    ),
    Submission(
        "batch-output-not-assembled-by-line", FULL - 3,
        "leaves assemble_with out: the job's records are not joined as lines, so the batch check loses "
        "its points",
        {"answer-batch-transform": replace('assemble_with="Line", ', '')},
    ),
    Submission(
        "accepts-any-content-type", FULL - 2,
        "input_fn parses every body as CSV whatever its content type, so a JSON request is not refused "
        "with a clear error and the handlers check loses its points",
        {"answer-preprocess-handlers": replace(
            '    if request_content_type != "text/csv":\n'
            '        raise ValueError(f"content type {request_content_type} is not supported: send text/csv")\n',
            '')},
    ),
    Submission(
        "ids-dropped-by-the-output-filter", FULL - 3,
        "an output filter of $[0,-1] keeps the id and the probability but not the predicted class: the "
        "ids check loses its points",
        {"answer-keep-ids": replace('output_filter="$[0,-2,-1]"', 'output_filter="$[0,-1]"')},
    ),
    Submission(
        "ids-without-joining-the-input", FULL - 3,
        "leaves join_source out: the output filter then picks from the predictions alone, so the first "
        "column is a class, not a customer id, and the ids check loses its points",
        {"answer-keep-ids": replace('join_source="Input", ', '')},
    ),
]
