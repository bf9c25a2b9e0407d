"""Endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, UpdateEndpoint, DeleteEndpoint.

Each creation or update is a DeploymentWorker: it starts a new Deployment of the endpoint config
(deployment.py) and switches the endpoint to it once every container answers /ping; the old deployment
serves meanwhile, then drains and stops. Statuses follow lifecycle.ENDPOINT. Records are kept in the
store ('endpoints'); on restart an endpoint that was serving is started again (Creating, then InService).

Each endpoint also has its usage record ('endpoint-usage', sagemaker/usage.py): the stretches it spent in
service with each endpoint config, kept after DeleteEndpoint so that `labcloud bill` still counts them.
"""

from __future__ import annotations

import datetime as dt
import enum

from labcloud.core.clock import utc_now
from labcloud.core.constants import failure_reason
from labcloud.core.errors import ValidationException
from labcloud.platform.background import Worker, Workers
from labcloud.protocols.pagination import list_page
from labcloud.runtime.serving.containers import StartupFailed, invocation_timeout_seconds
from labcloud.services.sagemaker.exceptions import already_exists, not_found
from labcloud.services.sagemaker.family import ResourceFamily
from labcloud.services.sagemaker.hosting import deployment as deployments
from labcloud.services.sagemaker.hosting.deployment import Deployment
from labcloud.services.sagemaker.hosting.lifecycle import ENDPOINT, RESUMED
from labcloud.services.sagemaker.hosting.records import Endpoint
from labcloud.services.sagemaker.usage import EndpointUsage

WORKER_JOIN_SECONDS = 30


class Deployed(enum.Enum):
    """How a DeploymentWorker ended."""
    SERVING = "serving"  # the endpoint serves the new config
    FAILED = "failed"  # the new config did not start (the endpoint says why)
    ABANDONED = "abandoned"  # the endpoint was deleted, or the server stops: nothing changed


class Endpoints(ResourceFamily):
    def __init__(self, ctx, store, models):
        super().__init__(ctx, store)
        self.models = models
        self.endpoints: dict[str, Endpoint] = {}
        self.live: dict[str, Deployment] = {}  # what serves each endpoint now
        self.usage: dict[str, EndpointUsage] = {}  # by EndpointUsage.key(): every endpoint's, deleted ones too
        self.workers = Workers()

    # ---- life of the family ----

    def start(self) -> None:
        self.endpoints = {n: Endpoint(d) for n, d in self.store.load_all("endpoints").items()}
        self.usage = {k: EndpointUsage(r) for k, r in self.store.load_all(EndpointUsage.KIND).items()}
        for name, record in list(self.endpoints.items()):
            if record.status == "Deleting":
                self._forget(name)
            elif record.status in RESUMED:  # it served (or was about to) before the restart
                record.description.pop("PendingDeploymentSummary", None)
                self._set_status(record, "Creating")
                self.workers.launch(DeploymentWorker(self, record, record.description["EndpointConfigName"],
                                                     update=False))

    def shutdown(self) -> None:
        for name in self.workers.running():
            self.workers.stop(name)  # a start can take minutes: call it off; a restart resumes it
        self.workers.shutdown(WORKER_JOIN_SECONDS)
        with self.lock:
            deployments_, self.live = list(self.live.values()), {}
        for deployment in deployments_:
            deployment.stop()

    def status(self) -> dict:
        with self.lock:
            lines = [f"{name} {record.status}, {len(self.live[name].containers()) if name in self.live else 0} "
                     "model-server processes" for name, record in sorted(self.endpoints.items())]
            return {"endpoints": lines, "endpoint_processes": {n: d.summary() for n, d in self.live.items()}}

    # ---- records ----

    def _endpoint(self, name: str) -> Endpoint:
        with self.lock:
            if name not in self.endpoints:
                raise not_found("endpoint", self.arn("endpoint", name))
            return self.endpoints[name]

    def _set_status(self, record: Endpoint, status: str, **fields) -> None:
        """Move the endpoint along its life cycle and set (or, with None, drop) fields; saved at once."""
        with self.lock:
            changed = record.status != status
            if changed:
                ENDPOINT.check(record.status, status)
            description = record.description
            description["EndpointStatus"] = status
            description["LastModifiedTime"] = utc_now()
            for key, value in fields.items():
                if value is None:
                    description.pop(key, None)
                else:
                    description[key] = value
            self.store.save("endpoints", record.name, description)
            if changed:
                self._state_changed(record)

    def _state_changed(self, record: Endpoint) -> None:
        """EventBridge's "SageMaker Endpoint State Change": the endpoint as DescribeEndpoint gives it."""
        self.ctx.events.publish_later("aws.sagemaker", "SageMaker Endpoint State Change", record.snapshot(),
                                      [record.description["EndpointArn"]])

    def _forget(self, name: str) -> None:
        with self.lock:
            record = self.endpoints.pop(name, None)
            self.store.delete("endpoints", name)
            if record is not None:
                self._record_usage(record, lambda usage: usage.deleted(utc_now()))

    def _record_usage(self, record: Endpoint, change) -> None:
        """Apply `change` to the endpoint's usage record (made if missing) and save it; `change` returns
        False when it changed nothing."""
        with self.lock:
            key = EndpointUsage.key(record.name, record.description["CreationTime"])
            usage = self.usage.get(key)
            if usage is None:
                usage = self.usage[key] = EndpointUsage.new(record.name, record.description["CreationTime"])
            if change(usage) is not False:
                self.store.save(EndpointUsage.KIND, key, usage.snapshot())

    def usage_rows(self, now) -> list:
        """sagemaker/usage.py's rows of every endpoint this server has had, deleted ones included."""
        with self.lock:
            live = {EndpointUsage.key(n, r.description["CreationTime"]): r.status for n, r in self.endpoints.items()}
            return [row for key, usage in self.usage.items() for row in usage.rows(live.get(key), now)]

    def still_ours(self, record: Endpoint, worker: Worker) -> bool:
        """May a worker started for `record` still change it? Not once the endpoint was deleted (even if one
        with the same name was created since), nor while the server stops: a restart resumes it as it was."""
        with self.lock:
            return (self.endpoints.get(record.name) is record and not worker.stop_requested.is_set()
                    and not self.ctx.shutting_down.is_set())

    # ---- the API ----

    def create_endpoint(self, params: dict) -> dict:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        self.models.models_for(self.models.config(config_name))
        arn = self.arn("endpoint", name)
        with self.lock:
            if name in self.endpoints:
                raise already_exists("endpoint", arn)
            created = utc_now()
            record = self.endpoints[name] = Endpoint({
                "EndpointName": name, "EndpointArn": arn, "EndpointConfigName": config_name,
                "EndpointStatus": "Creating", "CreationTime": created, "LastModifiedTime": created})
            self.store.save("endpoints", name, record.description)
            self._state_changed(record)
        self.workers.launch(DeploymentWorker(self, record, config_name, update=False))
        return {"EndpointArn": arn}

    def describe_endpoint(self, params: dict) -> dict:
        with self.lock:
            return self._endpoint(params["EndpointName"]).snapshot()

    def list_endpoints(self, params: dict) -> dict:
        with self.lock:
            records = [r.snapshot() for r in self.endpoints.values()]
        return list_page(records, params, "ListEndpoints", name_key="EndpointName", result_key="Endpoints",
                         fields=["EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime",
                                 "EndpointStatus"], status_key="EndpointStatus", default_max=100)

    def update_endpoint(self, params: dict) -> dict:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        record = self._endpoint(name)
        config = self.models.config(config_name)
        self.models.models_for(config)
        with self.lock:
            arn = record.description["EndpointArn"]
            if record.status != "InService":
                raise ValidationException(
                    f'Cannot update in-progress endpoint "{arn}".' if record.status != "Failed" else
                    f'Cannot update failed endpoint "{arn}": delete it and create it again.')
            self._set_status(record, "Updating", PendingDeploymentSummary={
                "EndpointConfigName": config_name, "StartTime": utc_now(),
                "ProductionVariants": [{"VariantName": v["VariantName"], "DesiredInstanceCount":
                                        v.get("InitialInstanceCount", 1)} for v in config["ProductionVariants"]]})
        self.workers.launch(DeploymentWorker(self, record, config_name, update=True))
        return {"EndpointArn": arn}

    def delete_endpoint(self, params: dict) -> dict:
        name = params["EndpointName"]
        record = self._endpoint(name)
        self._set_status(record, "Deleting")
        self.workers.stop(name)
        with self.lock:
            deployment = self.live.pop(name, None)
        if deployment is not None:
            deployment.stop()
        self._forget(name)
        return {}

    # ---- for the runtime ----

    def serving(self, name: str) -> tuple[dict | None, Deployment | None]:
        """A copy of the endpoint's record and what serves it now (None unless it serves)."""
        with self.lock:
            record = self.endpoints.get(name)
            return (record.snapshot() if record else None), self.live.get(name)

    # ---- for the workers ----

    def deploy(self, name: str, config_name: str, worker: Worker) -> Deployment:
        config = self.models.config(config_name)
        root = self.ctx.work_dir / "endpoints" / name / f"{config_name}-{int(utc_now().timestamp() * 1000)}"
        return deployments.deploy(self.ctx, self.ctx.log_shipper, name, config, self.models.models_for(config),
                                  root, worker.stop_requested)

    def serve(self, record: Endpoint, deployment: Deployment, worker: Worker) -> Deployment | None:
        """Let `deployment` serve the endpoint if the worker still may; returns what must now stop."""
        with self.lock:
            if not self.still_ours(record, worker):
                return deployment
            old = self.live.get(record.name)
            self.live[record.name] = deployment  # new requests go to it from now on
            return old

    def in_service(self, record: Endpoint, deployment: Deployment, worker: Worker, config_name: str) -> None:
        with self.lock:
            if self.still_ours(record, worker):
                self._set_status(record, "InService", EndpointConfigName=config_name, FailureReason=None,
                                 PendingDeploymentSummary=None, ProductionVariants=variant_summaries(deployment))
                runs = {"EndpointConfigName": config_name, "ProductionVariants": [  # what the deployment runs
                    {**v.definition, "InitialInstanceCount": len(v.instances)} for v in deployment.variants]}
                self._record_usage(record, lambda usage: usage.in_service(runs, utc_now()))

    def deploy_failed(self, record: Endpoint, worker: Worker, update: bool, config_name: str, err: Exception):
        with self.lock:
            if not self.still_ours(record, worker):
                return
            if not update:
                self._set_status(record, "Failed", FailureReason=_reason(err))
                return
            self._set_status(record, "RollingBack")
            self._set_status(record, "InService", PendingDeploymentSummary=None,
                             FailureReason=f"Update to endpoint config {config_name} failed; the endpoint keeps "
                                           f"serving its previous config. {_reason(err)}")


class DeploymentWorker(Worker):
    """Creates or updates one endpoint: a new deployment, then the switch, then the old one drained."""

    def __init__(self, endpoints: Endpoints, record: Endpoint, config_name: str, update: bool):
        super().__init__(endpoints.ctx, record.name, "hosting-update" if update else "hosting-create")
        self.endpoints, self.record, self.config_name, self.update = endpoints, record, config_name, update

    def run(self) -> Deployed:
        try:
            deployment = self.endpoints.deploy(self.record.name, self.config_name, self)
        except Exception as err:
            self.endpoints.deploy_failed(self.record, self, self.update, self.config_name, err)
            return Deployed.FAILED
        stale = self.endpoints.serve(self.record, deployment, self)
        if stale is deployment:
            deployment.stop()
            return Deployed.ABANDONED
        if stale is not None:  # AWS fails no request during an update: let those in flight finish
            stale.drain(invocation_timeout_seconds(), abort=self.ctx.shutting_down)
            stale.stop()
        # InService once the old instances are gone, as AWS reports it
        self.endpoints.in_service(self.record, deployment, self, self.config_name)
        return Deployed.SERVING


def variant_summaries(deployment: Deployment) -> list[dict]:
    """DescribeEndpoint's ProductionVariants for what a deployment runs."""
    summaries = []
    for variant in deployment.variants:
        resolved = dt.datetime.fromtimestamp(deployment.started, dt.timezone.utc)
        containers = variant.model.get("Containers") or [variant.model["PrimaryContainer"]]
        summaries.append({
            "VariantName": variant.name,
            "DeployedImages": [{"SpecifiedImage": c.get("Image", ""), "ResolvedImage": c.get("Image", ""),
                                "ResolutionTime": resolved} for c in containers],
            "CurrentWeight": variant.weight, "DesiredWeight": variant.weight,
            "CurrentInstanceCount": len(variant.instances), "DesiredInstanceCount": len(variant.instances),
        })
    return summaries


def _reason(err: Exception) -> str:
    return failure_reason(str(err) if isinstance(err, StartupFailed) else f"{type(err).__name__}: {err}")
