"""SageMakerBackend: the resource families of labcloud's SageMaker, each in its own module.

A family is a class built with the server's LabContext; its public methods are named after SageMaker
operations in snake_case (`create_training_job`) and take the request as a dict and return the
response as a dict. `start()` loads its records from the store and resumes their work; `shutdown()`
stops every process it started.
"""

from __future__ import annotations

import importlib

from labcloud.server.context import LabContext

# module:class of each family; a family that is not there yet is skipped.
FAMILIES = [
    "labcloud.services.sagemaker.training.jobs:TrainingJobs",
    "labcloud.services.sagemaker.hosting.family:Hosting",
    "labcloud.services.sagemaker.transform.jobs:TransformJobs",
]


class SageMakerBackend:
    def __init__(self, ctx: LabContext):
        self.ctx = ctx
        self.families = []
        for spec in FAMILIES:
            module_name, class_name = spec.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as err:
                if err.name != module_name:
                    raise
                continue
            self.families.append(getattr(module, class_name)(ctx, self))

    def family(self, cls_name: str):
        for family in self.families:
            if type(family).__name__ == cls_name:
                return family
        return None

    def handler(self, operation: str):
        for family in self.families:
            method = getattr(family, operation, None)
            if method is not None and not operation.startswith("_"):
                return method
        return None

    def start(self) -> None:
        for family in self.families:
            family.start()

    def shutdown(self) -> None:
        for family in reversed(self.families):
            family.shutdown()

    def status(self) -> dict:
        """What runs now, per family (for `labcloud status`)."""
        report = {}
        for family in self.families:
            report.update(family.status())
        return report
