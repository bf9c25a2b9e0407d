"""What runs behind an endpoint: the instances of each production variant, started from an endpoint config.

A `Deployment` is one endpoint config made real: for every variant, InitialInstanceCount instances, each
running every container of the variant's model. Endpoint creation and UpdateEndpoint both build a new
Deployment; the endpoint switches to it only once every container answers /ping, so the old one keeps
serving meanwhile.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

from labcloud.core.constants import CONTAINER_STARTUP_TIMEOUT_SECONDS
from labcloud.runtime.serving.containers import (ServingInstance, StartupFailed, container_specs, prepare_containers,
                                      stop_all, wait_until_healthy)

# A request that looked the endpoint up just before an update switched it may not be inside invoke() yet.
HANDOFF_SECONDS = 0.1


class Variant:
    def __init__(self, definition: dict, model: dict, instances: list[ServingInstance]):
        self.name = definition["VariantName"]
        self.definition = definition
        self.model = model
        self.instances = instances
        self.weight = float(definition.get("InitialVariantWeight", 1.0))
        self.mode = (model.get("InferenceExecutionConfig") or {}).get("Mode", "Serial")
        self.hostnames = [c.get("ContainerHostname") for c in model.get("Containers") or []]
        self._next = itertools.count()
        self._lock = threading.Lock()

    def next_instance(self) -> ServingInstance:
        with self._lock:  # round robin, as the load balancer in front of an endpoint's instances does
            return self.instances[next(self._next) % len(self.instances)]


class Deployment:
    def __init__(self, config_name: str, variants: list[Variant]):
        self.config_name = config_name
        self.variants = variants
        self.started = time.time()

    def containers(self):
        return [c for v in self.variants for i in v.instances for c in i.containers]

    def variant(self, name: str | None) -> Variant | None:
        if name is None:
            if len(self.variants) == 1:
                return self.variants[0]
            weights = [v.weight for v in self.variants]
            if sum(weights) <= 0:
                return self.variants[0]
            return random.choices(self.variants, weights=weights)[0]
        return next((v for v in self.variants if v.name == name), None)

    def drain(self, timeout: float, abort: threading.Event | None = None) -> bool:
        """Wait until no request is in flight on any instance (True), at most `timeout` s or until `abort`
        is set: after an update the old deployment finishes what it was asked before it stops."""
        deadline = time.monotonic() + timeout
        (abort or threading.Event()).wait(HANDOFF_SECONDS)
        return all(instance.wait_idle(max(0.0, deadline - time.monotonic()), abort)
                   for variant in self.variants for instance in variant.instances)

    def stop(self) -> None:
        stop_all(self.containers())

    def summary(self) -> list[dict]:
        return [{"variant": v.name, "instance": i.instance_id, "pids": i.pids, "ports": i.ports,
                 "running": [c.running for c in i.containers]} for v in self.variants for i in v.instances]


def deploy(ctx, shipper, endpoint_name: str, config: dict, models: dict, root: Path,
           cancelled: threading.Event | None = None) -> Deployment:
    """Start every container of every instance of every variant in parallel; return once all are healthy.
    Raises StartupFailed (with the failing container's last log lines); leaves nothing running then."""
    group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
    variants: list[Variant] = []
    try:
        timeout = 0.0
        for definition in config["ProductionVariants"]:
            model = models[definition["ModelName"]]
            prepared = prepare_containers(ctx.client("s3"), container_specs(model),
                                          root / definition["VariantName"])
            count = int(definition.get("InitialInstanceCount") or 1)
            instances = []
            variants.append(Variant(definition, model, instances))
            for _ in range(count):
                instances.append(ServingInstance(prepared, group, definition["VariantName"], shipper))
            timeout = max(timeout, float(definition.get("ContainerStartupHealthCheckTimeoutInSeconds")
                                         or CONTAINER_STARTUP_TIMEOUT_SECONDS))
        deployment = Deployment(config["EndpointConfigName"], variants)
        wait_until_healthy(deployment.containers(), timeout, cancelled)
        if cancelled is not None and cancelled.is_set():
            raise StartupFailed("The endpoint was deleted while it was being created.")
        return deployment
    except BaseException:
        stop_all([c for v in variants for i in v.instances for c in i.containers])
        raise
