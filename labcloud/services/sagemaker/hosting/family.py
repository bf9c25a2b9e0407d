"""Hosting: models, endpoint configs and endpoints (CreateModel ... DeleteEndpoint).

Endpoint life cycle, as AWS reports it in DescribeEndpoint:

    CreateEndpoint  -> Creating -> InService            (every container answers /ping)
                               └-> Failed + FailureReason (a container exited or never answered)
    UpdateEndpoint  InService -> Updating -> InService   (the old config serves until the new one is up)
                                        └-> RollingBack -> InService + FailureReason
    DeleteEndpoint  -> Deleting -> (gone; every model-server process stopped)

Records are kept in the store ('models', 'endpoint-configs', 'endpoints'); on restart an endpoint that
was serving is started again (Creating, then InService).
"""

from __future__ import annotations

import datetime as dt
import threading

from labcloud.core.errors import ValidationException
from labcloud.runtime.serving.containers import StartupFailed, invocation_timeout_seconds
from labcloud.services.sagemaker.family import ResourceFamily, utc_now
from labcloud.services.sagemaker.hosting.deployment import Deployment, deploy
from labcloud.protocols.pagination import list_page
from labcloud.protocols.validation import require

MIN_PIPELINE_CONTAINERS = 2
MAX_PIPELINE_CONTAINERS = 15


def not_found(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Cannot create already existing {kind} "{arn}".')


class Hosting(ResourceFamily):
    def __init__(self, ctx, backend):
        super().__init__(ctx, backend)
        self.models: dict[str, dict] = {}
        self.configs: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}
        self.live: dict[str, Deployment] = {}  # what serves each endpoint now
        self._cancel: dict[str, threading.Event] = {}
        self._workers: list[threading.Thread] = []

    # ---- life of the family ----

    def start(self) -> None:
        store = self.ctx.store
        self.models = store.load_all("models")
        self.configs = store.load_all("endpoint-configs")
        self.endpoints = store.load_all("endpoints")
        for name, record in list(self.endpoints.items()):
            status = record["EndpointStatus"]
            if status == "Deleting":
                self._forget_endpoint(name)
            elif status in ("Creating", "InService", "Updating", "SystemUpdating", "RollingBack"):
                # It served (or was about to) before the restart: bring its config back up.
                record.pop("PendingDeploymentSummary", None)
                self._set_status(name, "Creating")
                cancel = self._cancel.setdefault(name, threading.Event())
                self._spawn(self._create_worker, name, record, cancel, record["EndpointConfigName"])

    def shutdown(self) -> None:
        for event in self._cancel.values():
            event.set()
        for worker in list(self._workers):
            worker.join(timeout=30)
        with self.lock:
            deployments, self.live = list(self.live.values()), {}
        for deployment in deployments:
            deployment.stop()

    def status(self) -> dict:
        with self.lock:
            endpoints = []
            for name, record in sorted(self.endpoints.items()):
                deployment = self.live.get(name)
                processes = len(deployment.containers()) if deployment else 0
                endpoints.append(f"{name} {record['EndpointStatus']}, {processes} model-server processes")
            return {"endpoints": endpoints,
                    "endpoint_processes": {n: d.summary() for n, d in self.live.items()}}

    def _spawn(self, target, *args) -> None:
        worker = threading.Thread(target=target, args=args, name=f"hosting-{target.__name__}", daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    # ---- models ----

    def create_model(self, params: dict) -> dict:
        name = params["ModelName"]
        primary, containers = params.get("PrimaryContainer"), params.get("Containers")
        require(bool(primary) != bool(containers),
                "Either PrimaryContainer or Containers must be specified, but not both: use PrimaryContainer "
                "for a single container and Containers for an inference pipeline of 2 to 15 containers.")
        mode = (params.get("InferenceExecutionConfig") or {}).get("Mode", "Serial")
        if containers:
            require(MIN_PIPELINE_CONTAINERS <= len(containers) <= MAX_PIPELINE_CONTAINERS,
                    f"An inference pipeline must have between {MIN_PIPELINE_CONTAINERS} and "
                    f"{MAX_PIPELINE_CONTAINERS} containers in Containers, but {len(containers)} were given. "
                    "For a single container use PrimaryContainer.")
            hostnames = [c.get("ContainerHostname") for c in containers]
            named = [h for h in hostnames if h]
            if mode == "Direct":
                require(len(named) == len(containers),
                        "ContainerHostname must be specified for every container when InferenceExecutionConfig "
                        "Mode is Direct: the caller picks a container with TargetContainerHostname.")
            require(not named or len(named) == len(containers),
                    "If ContainerHostname is specified for one container of an inference pipeline, it must be "
                    "specified for every container in Containers.")
            require(len(set(named)) == len(named),
                    f"ContainerHostname values must be unique within a model; got {', '.join(named)}.")
        else:
            require(mode == "Serial" or not params.get("InferenceExecutionConfig"),
                    "InferenceExecutionConfig Mode Direct requires Containers with a ContainerHostname each; "
                    "a model with a PrimaryContainer has a single container.")
        for container in ([primary] if primary else containers):
            require(bool(container.get("Image") or container.get("ModelPackageName")),
                    "Image must be specified for each container (or ModelPackageName).")
            url = container.get("ModelDataUrl")
            require(url is None or url.startswith("s3://"),
                    f"ModelDataUrl {url} is not valid: it must be an S3 URI (s3://bucket/key/model.tar.gz).")
        with self.lock:
            if name in self.models:
                raise already_exists("model", self.ctx.sagemaker_arn("model", name))
            record = {"ModelName": name, "ModelArn": self.ctx.sagemaker_arn("model", name), "CreationTime": utc_now(),
                      "ExecutionRoleArn": params.get("ExecutionRoleArn"),
                      "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False))}
            if primary:
                record["PrimaryContainer"] = primary
            else:
                record["Containers"] = containers
                record["InferenceExecutionConfig"] = {"Mode": mode}
            for key in ("VpcConfig", "DeploymentRecommendation"):
                if params.get(key):
                    record[key] = params[key]
            record = {k: v for k, v in record.items() if v is not None}
            self.models[name] = record
            self.ctx.store.save("models", name, record)
        return {"ModelArn": record["ModelArn"]}

    def describe_model(self, params: dict) -> dict:
        return dict(self._model(params["ModelName"]))

    def _model(self, name: str) -> dict:
        with self.lock:
            if name not in self.models:
                raise not_found("model", self.ctx.sagemaker_arn("model", name))
            return self.models[name]

    def list_models(self, params: dict) -> dict:
        with self.lock:
            records = list(self.models.values())
        return list_page(records, params, "ListModels", name_key="ModelName", result_key="Models",
                         fields=["ModelName", "ModelArn", "CreationTime"], default_max=100)

    def delete_model(self, params: dict) -> dict:
        name = params["ModelName"]
        with self.lock:
            self._model(name)
            del self.models[name]
            self.ctx.store.delete("models", name)
        return {}

    # ---- endpoint configs ----

    def create_endpoint_config(self, params: dict) -> dict:
        name = params["EndpointConfigName"]
        variants = params["ProductionVariants"]
        names = [v["VariantName"] for v in variants]
        require(len(set(names)) == len(names),
                f"VariantName values must be unique within an endpoint config; got {', '.join(names)}.")
        for variant in variants:
            require(bool(variant.get("ModelName")), f"ModelName is required in production variant "
                                                    f"{variant['VariantName']}.")
            require(variant.get("ServerlessConfig") is not None or bool(variant.get("InstanceType")),
                    f"InstanceType is required in production variant {variant['VariantName']} "
                    "(or ServerlessConfig for a serverless endpoint).")
            self._model(variant["ModelName"])
        with self.lock:
            if name in self.configs:
                raise already_exists("endpoint configuration", self.ctx.sagemaker_arn("endpoint-config", name))
            record = {"EndpointConfigName": name, "EndpointConfigArn": self.ctx.sagemaker_arn("endpoint-config", name),
                      "ProductionVariants": [{"InitialVariantWeight": 1.0, **v} for v in variants],
                      "CreationTime": utc_now()}
            for key in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ShadowProductionVariants"):
                if params.get(key):
                    record[key] = params[key]
            self.configs[name] = record
            self.ctx.store.save("endpoint-configs", name, record)
        return {"EndpointConfigArn": record["EndpointConfigArn"]}

    def _config(self, name: str) -> dict:
        with self.lock:
            if name not in self.configs:
                raise not_found("endpoint configuration", self.ctx.sagemaker_arn("endpoint-config", name))
            return self.configs[name]

    def describe_endpoint_config(self, params: dict) -> dict:
        return dict(self._config(params["EndpointConfigName"]))

    def list_endpoint_configs(self, params: dict) -> dict:
        with self.lock:
            records = list(self.configs.values())
        return list_page(records, params, "ListEndpointConfigs", name_key="EndpointConfigName",
                         result_key="EndpointConfigs",
                         fields=["EndpointConfigName", "EndpointConfigArn", "CreationTime"], default_max=100)

    def delete_endpoint_config(self, params: dict) -> dict:
        name = params["EndpointConfigName"]
        with self.lock:
            self._config(name)
            del self.configs[name]
            self.ctx.store.delete("endpoint-configs", name)
        return {}

    # ---- endpoints ----

    def _endpoint(self, name: str) -> dict:
        with self.lock:
            if name not in self.endpoints:
                raise not_found("endpoint", self.ctx.sagemaker_arn("endpoint", name))
            return self.endpoints[name]

    def _set_status(self, name: str, status: str, **fields) -> None:
        with self.lock:
            record = self.endpoints.get(name)
            if record is None:
                return
            record["EndpointStatus"] = status
            record["LastModifiedTime"] = utc_now()
            for key, value in fields.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = value
            self.ctx.store.save("endpoints", name, record)

    def _models_for(self, config: dict) -> dict:
        models = {}
        for variant in config["ProductionVariants"]:
            models[variant["ModelName"]] = self._model(variant["ModelName"])
        return models

    def create_endpoint(self, params: dict) -> dict:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        config = self._config(config_name)
        self._models_for(config)
        with self.lock:
            if name in self.endpoints:
                raise already_exists("endpoint", self.ctx.sagemaker_arn("endpoint", name))
            created = utc_now()
            record = {"EndpointName": name, "EndpointArn": self.ctx.sagemaker_arn("endpoint", name),
                      "EndpointConfigName": config_name, "EndpointStatus": "Creating",
                      "CreationTime": created, "LastModifiedTime": created}
            self.endpoints[name] = record
            self.ctx.store.save("endpoints", name, record)
            cancel = self._cancel[name] = threading.Event()
        self._spawn(self._create_worker, name, record, cancel, config_name)
        return {"EndpointArn": record["EndpointArn"]}

    def _deploy(self, name: str, config_name: str, cancel: threading.Event) -> Deployment:
        config = self._config(config_name)
        root = self.ctx.work_dir / "endpoints" / name / f"{config_name}-{int(utc_now().timestamp() * 1000)}"
        return deploy(self.ctx, self.ctx.log_shipper, name, config, self._models_for(config), root, cancel)

    def _still_ours(self, name: str, record: dict, cancel: threading.Event) -> bool:
        """May a worker started for `record` still change it? Not once the endpoint was deleted (even if one
        with the same name was created since), nor while the server stops: a restart resumes it as it was."""
        with self.lock:
            return (self.endpoints.get(name) is record and not cancel.is_set()
                    and not self.ctx.shutting_down.is_set())

    def _variant_summaries(self, deployment: Deployment) -> list[dict]:
        summaries = []
        for variant in deployment.variants:
            containers = variant.model.get("Containers") or [variant.model["PrimaryContainer"]]
            resolved = dt.datetime.fromtimestamp(deployment.started, dt.timezone.utc)
            summaries.append({
                "VariantName": variant.name,
                "DeployedImages": [{"SpecifiedImage": c.get("Image", ""), "ResolvedImage": c.get("Image", ""),
                                    "ResolutionTime": resolved} for c in containers],
                "CurrentWeight": variant.weight, "DesiredWeight": variant.weight,
                "CurrentInstanceCount": len(variant.instances), "DesiredInstanceCount": len(variant.instances),
            })
        return summaries

    def _create_worker(self, name: str, record: dict, cancel: threading.Event, config_name: str) -> None:
        try:
            deployment = self._deploy(name, config_name, cancel)
        except Exception as err:
            with self.lock:
                if self._still_ours(name, record, cancel):
                    self._set_status(name, "Failed", FailureReason=_reason(err))
            return
        with self.lock:
            if self._still_ours(name, record, cancel):
                stale = self.live.get(name)  # nothing should serve yet; if something does, it must not leak
                self.live[name] = deployment
                self._set_status(name, "InService", FailureReason=None,
                                 ProductionVariants=self._variant_summaries(deployment))
            else:
                stale = deployment
        if stale is not None:
            stale.stop()

    def describe_endpoint(self, params: dict) -> dict:
        with self.lock:
            return dict(self._endpoint(params["EndpointName"]))

    def list_endpoints(self, params: dict) -> dict:
        with self.lock:
            records = list(self.endpoints.values())
        return list_page(records, params, "ListEndpoints", name_key="EndpointName", result_key="Endpoints",
                         fields=["EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime",
                                 "EndpointStatus"], status_key="EndpointStatus", default_max=100)

    def update_endpoint(self, params: dict) -> dict:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        record = self._endpoint(name)
        config = self._config(config_name)
        self._models_for(config)
        with self.lock:
            status = record["EndpointStatus"]
            if status != "InService":
                raise ValidationException(
                    f'Cannot update in-progress endpoint "{record["EndpointArn"]}".' if status != "Failed" else
                    f'Cannot update failed endpoint "{record["EndpointArn"]}": delete it and create it again.')
            self._set_status(name, "Updating", PendingDeploymentSummary={
                "EndpointConfigName": config_name, "StartTime": utc_now(),
                "ProductionVariants": [{"VariantName": v["VariantName"], "DesiredInstanceCount":
                                        v.get("InitialInstanceCount", 1)} for v in config["ProductionVariants"]]})
            cancel = self._cancel.setdefault(name, threading.Event())
        self._spawn(self._update_worker, name, record, cancel, config_name)
        return {"EndpointArn": record["EndpointArn"]}

    def _update_worker(self, name: str, record: dict, cancel: threading.Event, config_name: str) -> None:
        try:
            deployment = self._deploy(name, config_name, cancel)
        except Exception as err:
            with self.lock:
                if self._still_ours(name, record, cancel):
                    self._set_status(name, "RollingBack")
                    self._set_status(name, "InService", PendingDeploymentSummary=None,
                                     FailureReason=f"Update to endpoint config {config_name} failed; the endpoint "
                                                   f"keeps serving its previous config. {_reason(err)}")
            return
        with self.lock:
            switched = self._still_ours(name, record, cancel)
            old = self.live.get(name) if switched else deployment
            if switched:
                self.live[name] = deployment  # new requests go to the new config from now on
        if old is not None:
            if switched:  # AWS fails no request during an update: let those in flight finish
                old.drain(invocation_timeout_seconds(), abort=self.ctx.shutting_down)
            old.stop()
        with self.lock:  # InService once the old instances are gone, as AWS reports it
            if switched and self._still_ours(name, record, cancel):
                self._set_status(name, "InService", EndpointConfigName=config_name, FailureReason=None,
                                 PendingDeploymentSummary=None,
                                 ProductionVariants=self._variant_summaries(deployment))

    def delete_endpoint(self, params: dict) -> dict:
        name = params["EndpointName"]
        self._endpoint(name)
        self._set_status(name, "Deleting")
        with self.lock:
            cancel = self._cancel.get(name)
            deployment = self.live.pop(name, None)
        if cancel is not None:
            cancel.set()
        if deployment is not None:
            deployment.stop()
        self._forget_endpoint(name)
        return {}

    def _forget_endpoint(self, name: str) -> None:
        with self.lock:
            self.endpoints.pop(name, None)
            self._cancel.pop(name, None)
            self.ctx.store.delete("endpoints", name)

    # ---- for the runtime and transform jobs ----

    def serving(self, name: str) -> tuple[dict, Deployment | None]:
        """The endpoint's record and what serves it now (None unless it serves)."""
        with self.lock:
            record = self.endpoints.get(name)
            return (dict(record) if record else None), self.live.get(name)


def _reason(err: Exception) -> str:
    text = str(err) if isinstance(err, StartupFailed) else f"{type(err).__name__}: {err}"
    return text[-1024:]  # FailureReason holds at most 1024 characters
