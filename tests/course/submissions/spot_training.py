"""Kept submissions of the spot-training lab (18 autograded points: local resume 2, restart after the
last epoch 1, job 2, savings 2, timeline 2, model and checkpoints 3, the job's end through EventBridge 2,
its accuracy as a metric 2, what a job without checkpoints loses 2)."""
from tests.course.submissions import Submission, chain, replace

FULL = 18

NEWEST = "    state = joblib.load(files[-1])\n"

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "other max_run/max_wait inside the stated limits (5 and 15 minutes), the epochs hyperparameter "
        "given as a string, the newest checkpoint found with max() instead of sorting, the job's end "
        "matched as anything but InProgress and the accuracy's regex written with \\d: all right",
        {
            "spot-estimator": chain(
                replace("max_run=600,", "max_run=5 * 60,"),
                replace("max_wait=1200,", "max_wait=15 * 60,"),
                replace('hyperparameters={"epochs": EPOCHS}', 'hyperparameters={"epochs": str(EPOCHS)}'),
                replace('"Regex": r"train accuracy ([0-9.]+)"', '"Regex": r"accuracy (\\d+\\.\\d+)"'),
            ),
            "answer-job-end-rule": replace('"TrainingJobStatus": ["Completed", "Failed", "Stopped"]',
                                           '"TrainingJobStatus": [{"anything-but": "InProgress"}]'),
            "train-script": replace(NEWEST, "    state = joblib.load(max(files))\n"),
        },
    ),
    Submission(
        "resumes-from-the-oldest-checkpoint", FULL - 3,
        "loads the first checkpoint in sorted order: the final model is still right (the later epochs are "
        "trained again), but every resume redoes finished epochs and rewrites their checkpoints, so the "
        "local resume test (2) and the restart-after-the-last-epoch test (1) lose their points",
        {"train-script": replace(NEWEST, "    state = joblib.load(files[0])\n")},
    ),
    Submission(
        "max-wait-beyond-the-limit", FULL - 2,
        "max_wait of 30 minutes: a valid job, but past the stated 20-minute limit, so the job check loses "
        "its points",
        {"spot-estimator": replace("max_wait=1200,", "max_wait=1800,")},
    ),
    Submission(
        "savings-of-the-wrong-ratio", FULL - 2,
        "divides training by billable time: the savings check loses its points",
        {"analysis": replace("    return (1 - billable / training) * 100\n",
                             "    return (1 - training / billable) * 100\n")},
    ),
    Submission(
        "rule-on-every-state-change", FULL - 2,
        "a pattern without the status filter also matches the job's start (InProgress), so the queue "
        "holds two events and the EventBridge check loses its points",
        {"answer-job-end-rule": replace(', "TrainingJobStatus": ["Completed", "Failed", "Stopped"]', '')},
    ),
    Submission(
        "metric-regex-captures-one-digit", FULL - 2,
        "the regex's group captures the accuracy's first digit only (0), so the metric check loses its "
        "points",
        {"spot-estimator": replace('r"train accuracy ([0-9.]+)"', 'r"train accuracy ([0-9])"')},
    ),
    Submission(
        "seconds-lost-the-wrong-way-round", FULL - 2,
        "subtracts the job without checkpoints from the one with them: a negative loss, so the interval "
        "check loses its points",
        {"answer-interval-never": replace(
            'seconds_lost = never["TrainingTimeInSeconds"] - every_epoch["TrainingTimeInSeconds"]',
            'seconds_lost = every_epoch["TrainingTimeInSeconds"] - never["TrainingTimeInSeconds"]')},
    ),
]
