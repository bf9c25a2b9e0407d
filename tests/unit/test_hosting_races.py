"""Endpoint workers racing DeleteEndpoint, CreateEndpoint, UpdateEndpoint and a server stop; requests in
flight during an update. Stand-in deployments and containers keep these fast and deterministic: no model
server is started here."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from labcloud.runtime.serving.containers import ServingInstance, StartupCancelled, StartupFailed, wait_until_healthy
from labcloud.services.sagemaker.hosting import deployment as deployment_module
from labcloud.services.sagemaker.hosting.deployment import Deployment, Variant
from labcloud.services.sagemaker.hosting.endpoints import Endpoints
from labcloud.services.sagemaker.hosting.models import Models
from tests.support.families import sagemaker_store, unit_context



class NeverHealthy:
    """A container that runs but never answers /ping (a model that takes forever to load)."""
    hostname = "primary"
    running = True
    pid = 0

    def ping(self) -> bool:
        return False

    def failure_text(self) -> str:
        return ""

    def signal_stop(self) -> None:
        self.running = False

    def wait_stopped(self, grace: float = 0) -> None:
        pass


def test_a_health_wait_gives_up_as_soon_as_it_is_cancelled():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StartupCancelled):
        wait_until_healthy([NeverHealthy()], 600, cancel)

    cancel = threading.Event()
    outcome = []

    def wait():
        try:
            wait_until_healthy([NeverHealthy()], 600, cancel)
        except StartupFailed as err:
            outcome.append(err)

    waiter = threading.Thread(target=wait)
    waiter.start()
    cancel.set()
    waiter.join(timeout=10)  # without the cancel event this wait would last the whole 600 s
    assert not waiter.is_alive() and isinstance(outcome[0], StartupCancelled)


class SlowContainer:
    """Answers an invocation only when told to."""
    hostname = "primary"

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def post(self, body, content_type, accept):
        self.entered.set()
        self.release.wait(10)
        return body, content_type


def test_draining_waits_for_requests_in_flight_and_no_longer_than_the_bound():
    container = SlowContainer()
    instance = ServingInstance([], "/aws/sagemaker/Endpoints/e", "AllTraffic", None)
    instance.containers = [container]
    deployment = Deployment("old", [Variant({"VariantName": "AllTraffic"}, {"PrimaryContainer": {}}, [instance])])
    answers = []
    request = threading.Thread(target=lambda: answers.append(instance.invoke(b"1,2", "text/csv", None)))
    request.start()
    assert container.entered.wait(10)
    assert instance.in_flight == 1
    assert deployment.drain(0.2) is False  # bounded: a request that never ends cannot hold the update up
    aborted = threading.Event()
    aborted.set()
    assert deployment.drain(600, abort=aborted) is False  # a server stop does not wait for it either
    container.release.set()
    request.join(timeout=10)
    assert answers == [(b"1,2", "text/csv")]
    assert deployment.drain(10) is True and instance.in_flight == 0


# ---- the endpoints family with stand-in deployments ----

class FakeDeployment:
    def __init__(self, config_name: str):
        self.config_name = config_name
        self.variants = []
        self.events = []

    def containers(self):
        return []

    def summary(self):
        return []

    def drain(self, timeout, abort=None):
        self.events.append("drain")
        return True

    def stop(self):
        self.events.append("stop")


class FakeDeploys:
    """Stands in for deployment.deploy: each call waits until the test releases it. `honour_cancel` False
    is a start that cannot be interrupted (containers still loading): it ends only when released."""

    def __init__(self, honour_cancel: bool = True, return_when_cancelled: bool = False):
        self.honour_cancel = honour_cancel
        self.return_when_cancelled = return_when_cancelled
        self.calls = []
        self.entered = threading.Semaphore(0)

    def __call__(self, ctx, shipper, name, config, models, root, cancelled):
        call = SimpleNamespace(config=config["EndpointConfigName"], release=threading.Event(),
                               thread=threading.current_thread(),
                               deployment=FakeDeployment(config["EndpointConfigName"]))
        self.calls.append(call)
        self.entered.release()
        while not call.release.wait(0.01):
            if self.honour_cancel and cancelled.is_set():
                raise StartupCancelled("called off")
        if cancelled.is_set() and not self.return_when_cancelled:
            raise StartupFailed("The endpoint was deleted while it was being created.")
        return call.deployment

    def next_call(self):
        assert self.entered.acquire(timeout=10)
        return self.calls[-1]


@pytest.fixture
def family(tmp_path):
    ctx = unit_context(tmp_path, log_shipper=None)
    store = sagemaker_store(tmp_path)
    models = Models(ctx, store)
    models.start()
    models.create_model({"ModelName": "m", "PrimaryContainer": {"Image": "img", "ModelDataUrl": "s3://b/k"}})
    for config in ("first", "second"):
        models.create_endpoint_config({"EndpointConfigName": config, "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large"}]})
    endpoints = Endpoints(ctx, store, models)
    endpoints.start()
    yield endpoints
    ctx.shutting_down.set()
    endpoints.shutdown()


@pytest.mark.parametrize("return_when_cancelled", [False, True])
def test_a_deleted_endpoints_worker_leaves_the_endpoint_created_again_alone(family, monkeypatch,
                                                                             return_when_cancelled):
    deploys = FakeDeploys(honour_cancel=False, return_when_cancelled=return_when_cancelled)
    monkeypatch.setattr(deployment_module, "deploy", deploys)
    family.create_endpoint({"EndpointName": "e", "EndpointConfigName": "first"})
    old = deploys.next_call()
    family.delete_endpoint({"EndpointName": "e"})
    family.create_endpoint({"EndpointName": "e", "EndpointConfigName": "second"})
    new = deploys.next_call()
    new.release.set()
    new.thread.join(timeout=10)
    old.release.set()  # the old containers pass /ping only now
    old.thread.join(timeout=10)

    described = family.describe_endpoint({"EndpointName": "e"})
    assert described["EndpointStatus"] == "InService" and "FailureReason" not in described
    assert described["EndpointConfigName"] == "second"
    assert family.live["e"] is new.deployment
    if return_when_cancelled:
        assert old.deployment.events == ["stop"]  # never served, and its processes do not leak
    assert family.store.load_all("endpoints")["e"]["EndpointStatus"] == "InService"


def test_an_endpoint_still_creating_at_shutdown_is_resumed_not_failed(family, monkeypatch):
    deploys = FakeDeploys()
    monkeypatch.setattr(deployment_module, "deploy", deploys)
    family.create_endpoint({"EndpointName": "e", "EndpointConfigName": "first"})
    call = deploys.next_call()
    family.ctx.shutting_down.set()
    family.shutdown()
    assert not call.thread.is_alive()
    saved = family.store.load_all("endpoints")["e"]
    assert saved["EndpointStatus"] == "Creating" and "FailureReason" not in saved


def test_an_update_drains_the_old_deployment_before_stopping_it(family, monkeypatch):
    deploys = FakeDeploys()
    monkeypatch.setattr(deployment_module, "deploy", deploys)
    family.create_endpoint({"EndpointName": "e", "EndpointConfigName": "first"})
    first = deploys.next_call()
    first.release.set()
    first.thread.join(timeout=10)
    assert family.describe_endpoint({"EndpointName": "e"})["EndpointStatus"] == "InService"

    family.update_endpoint({"EndpointName": "e", "EndpointConfigName": "second"})
    second = deploys.next_call()
    seen_while_draining = []

    def drain(timeout, abort=None):  # what serves, and what DescribeEndpoint says, while the old one drains
        seen_while_draining.append((family.live["e"], family.describe_endpoint({"EndpointName": "e"})))
        first.deployment.events.append("drain")
        return True

    first.deployment.drain = drain
    second.release.set()
    second.thread.join(timeout=10)
    assert family.live["e"] is second.deployment
    assert first.deployment.events == ["drain", "stop"]
    assert second.deployment.events == []
    [(serving, described)] = seen_while_draining
    assert serving is second.deployment  # new requests already go to the new config
    assert described["EndpointStatus"] == "Updating" and described["EndpointConfigName"] == "first"
    described = family.describe_endpoint({"EndpointName": "e"})
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == "second"
    assert "PendingDeploymentSummary" not in described
