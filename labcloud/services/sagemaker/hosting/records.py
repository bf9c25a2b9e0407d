"""The records of hosting's resources. Each holds its Describe answer as AWS gives it; none needs
bookkeeping of labcloud's own (what serves an endpoint lives in the Endpoints family, not in a record)."""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass
class Model:
    description: dict  # DescribeModel

    @property
    def name(self) -> str:
        return self.description["ModelName"]


@dataclass
class EndpointConfig:
    description: dict  # DescribeEndpointConfig

    @property
    def name(self) -> str:
        return self.description["EndpointConfigName"]

    @property
    def variants(self) -> list[dict]:
        return self.description["ProductionVariants"]


@dataclass(eq=False)  # identity matters: a worker may change only the record it was started for
class Endpoint:
    description: dict  # DescribeEndpoint

    @property
    def name(self) -> str:
        return self.description["EndpointName"]

    @property
    def status(self) -> str:
        return self.description["EndpointStatus"]

    def snapshot(self) -> dict:
        return copy.deepcopy(self.description)
