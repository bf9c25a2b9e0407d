"""A job's output reaches CloudWatch Logs and fit() whole: blank lines, a very long line, a burst."""

from __future__ import annotations

import boto3

import labcloud

SCRIPT = """
print("before the blank line")
print()
print("x" * 300000)
for i in range(2000):
    print(f"burst {i}")
print("the end")
"""


def test_blank_long_and_burst_lines_all_reach_the_log_and_fit(sagemaker_session, tmp_path, capsys):
    from sagemaker.sklearn import SKLearn

    (tmp_path / "train.py").write_text(SCRIPT)
    estimator = SKLearn(entry_point="train.py", source_dir=str(tmp_path), role=labcloud.ROLE_ARN, instance_count=1,
                        instance_type="ml.m5.large", framework_version="1.2-1", sagemaker_session=sagemaker_session)
    estimator.fit()
    printed = capsys.readouterr().out
    assert "before the blank line" in printed and "burst 1999" in printed and "the end" in printed
    job = estimator.latest_training_job.name
    logs = boto3.client("logs")
    stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                       logStreamNamePrefix=job)["logStreams"][0]["logStreamName"]
    messages, token = [], None
    while True:
        page = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                                   startFromHead=True, **({"nextToken": token} if token else {}))
        if not page["events"]:
            break
        messages += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    start = messages.index("before the blank line")
    assert messages[start + 1] == " "
    assert "".join(messages[start + 2:start + 4]) == "x" * 300000
    assert messages[start + 4:start + 2004] == [f"burst {i}" for i in range(2000)]
    assert "the end" in messages
