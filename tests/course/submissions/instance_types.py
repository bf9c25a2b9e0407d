"""Kept submissions of the instance-types lab (10 autograded points: types 1, jobs 2, cost 3, choice 2,
spot 2)."""
from tests.course.submissions import Submission, replace, source

FULL = 10

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "hyperparameters given as strings, the enum lists read through botocore's service model in "
        "another way, the cost from hours instead of seconds, the choice by sorting: all right",
        {
            "answer-types": source('''
lists = {name: set(model.shape_for(name).enum) for name in ("TrainingInstanceType", "ProductionVariantInstanceType")}
training_types, hosting_types = lists["TrainingInstanceType"], lists["ProductionVariantInstanceType"]
hosting_only = sorted(set(candidates) & (hosting_types - training_types))
'''),
            "answer-jobs": replace('hyperparameters={"rows": rows}', 'hyperparameters={"rows": str(rows)}'),
            "answer-cost": source('''
def job_cost(description):
    price = prices.usd_per_hour("training", description["ResourceConfig"]["InstanceType"])
    if price is None:
        return None
    instance_hours = description["BillableTimeInSeconds"] / 3600 * description["ResourceConfig"]["InstanceCount"]
    return instance_hours * price
'''),
            "answer-choice": source('''
run_cost = {}
for instance_type, run_hours in hours.items():
    run_cost[instance_type] = run_hours * prices.usd_per_hour("training", instance_type)
by_cost = sorted(run_cost, key=lambda t: run_cost[t])
cheapest = by_cost[0]
choice = [t for t in by_cost if hours[t] <= deadline_hours][0]
'''),
        },
    ),
    Submission(
        "bills-training-time", FULL - 3,
        "prices TrainingTimeInSeconds instead of BillableTimeInSeconds: right for on-demand jobs, wrong "
        "for spot jobs, so the cost check loses its points",
        {"answer-cost": replace('description["BillableTimeInSeconds"]', 'description["TrainingTimeInSeconds"]')},
    ),
    Submission(
        "unpriced-is-free", FULL - 3,
        "counts a type without a price as free (0 dollars) instead of unpriced",
        {"answer-cost": replace("    if rate is None:\n        return None\n", "    rate = rate or 0.0\n")},
    ),
    Submission(
        "cheapest-ignores-the-deadline", FULL - 2,
        "chooses the cheapest type, which misses the deadline",
        {"answer-choice": replace(
            "choice = min((t for t in hours if hours[t] <= deadline_hours), key=run_cost.get)",
            "choice = cheapest")},
    ),
    Submission(
        "spot-saving-on-the-short-run", FULL - 2,
        "applies the spot saving to the on-demand hours, forgetting that interruptions make the run longer",
        {"answer-spot": replace("spot_cost = spot_hours * (1 - spot_saving)",
                                "spot_cost = hours[choice] * (1 - spot_saving)")},
    ),
]
