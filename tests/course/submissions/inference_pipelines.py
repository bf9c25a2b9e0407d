"""Kept submissions of the inference-pipelines lab (8 autograded points: preprocessing handlers 2,
pipeline endpoint 3, batch transform 3)."""
from tests.course.submissions import Submission, chain, replace

FULL = 8

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "the batch output parsed with pandas instead of numpy, and the transform's input given a "
        "payload limit: all right",
        {"answer-batch-transform": chain(
            replace('strategy="MultiRecord", assemble_with="Line", accept="text/csv",',
                    'strategy="MultiRecord", assemble_with="Line", accept="text/csv", max_payload=1,'),
            replace('batch_predictions = np.loadtxt(io.StringIO(batch_output), delimiter=",", ndmin=2)',
                    'batch_predictions = pd.read_csv(io.StringIO(batch_output), header=None).to_numpy(dtype=float)'),
        )},
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
]
