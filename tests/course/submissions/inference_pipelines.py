"""Kept submissions of the inference-pipelines lab (14 autograded points: preprocessing handlers 2,
pipeline endpoint 3, batch transform 3, customer ids kept beside the predictions 3, the colleague's
failing pipeline diagnosed 1 and fixed in place 2)."""
from tests.course.submissions import Submission, chain, replace

FULL = 14

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "the batch output parsed with pandas instead of numpy, the transform's input given a payload "
        "limit, the ids' output filter naming its columns by position from the start, the scored "
        "table a NumPy array and the colleague's handler fixed with numpy's savetxt: all right",
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
            "answer-debug-fixed-handler": replace(
                '    return "".join(",".join(repr(float(v)) for v in row) + "\\n" for row in prediction), "text/csv"\n',
                '    buffer = io.StringIO()\n'
                '    np.savetxt(buffer, prediction, delimiter=",", fmt="%.17g")\n'
                '    return buffer.getvalue(), "text/csv"\n'),
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
    Submission(
        "blames-the-container-that-raised", FULL - 1,
        "names the classifier as the container to change: it raised the error, but the preprocessor's "
        "JSON answer caused it, so the diagnosis check loses its point",
        {"answer-debug-diagnosis": replace('at_fault = "preprocessor"', 'at_fault = "classifier"')},
    ),
    Submission(
        "fixes-by-recreating-the-endpoint", FULL - 2,
        "deletes the colleague's endpoint and creates it again with the fixed pipeline: it answers "
        "right, but callers lost it meanwhile, so the fix check loses its points",
        {"answer-debug-update": replace(
            'fixed_pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=broken_name,\n'
            '                      update_endpoint=True)\n',
            'old_config = sm.describe_endpoint(EndpointName=broken_name)["EndpointConfigName"]\n'
            'sm.delete_endpoint(EndpointName=broken_name)\n'
            'sm.delete_endpoint_config(EndpointConfigName=old_config)\n'
            'while endpoint_status(broken_name) is not None:\n'
            '    time.sleep(0.5)\n'
            'fixed_pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=broken_name)\n')},
    ),
]
