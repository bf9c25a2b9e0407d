"""Kept submissions of the spot-training lab (12 autograded points: local resume 2, restart after the
last epoch 1, job 2, savings 2, timeline 2, model and checkpoints 3)."""
from tests.course.submissions import Submission, chain, replace

FULL = 12

NEWEST = "    state = joblib.load(files[-1])\n"

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "other max_run/max_wait inside the stated limits (5 and 15 minutes), the epochs hyperparameter "
        "given as a string, the newest checkpoint found with max() instead of sorting: all right",
        {
            "spot-estimator": chain(
                replace("max_run=600,", "max_run=5 * 60,"),
                replace("max_wait=1200,", "max_wait=15 * 60,"),
                replace('hyperparameters={"epochs": EPOCHS}', 'hyperparameters={"epochs": str(EPOCHS)}'),
            ),
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
]
