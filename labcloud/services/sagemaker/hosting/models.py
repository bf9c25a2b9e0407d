"""Models and endpoint configs: CreateModel ... DeleteEndpointConfig. Records only; nothing runs.

A model has a PrimaryContainer, or Containers for an inference pipeline of 2 to 15 containers in series
(Serial, the default) or called one at a time by hostname (Direct). Records live in the store
('models', 'endpoint-configs').
"""

from __future__ import annotations

from labcloud.core.clock import utc_now
from labcloud.protocols.pagination import list_page
from labcloud.protocols.validation import require
from labcloud.services.sagemaker.exceptions import already_exists, not_found
from labcloud.services.sagemaker.family import RecordTable, ResourceFamily
from labcloud.services.sagemaker.hosting.records import EndpointConfig, Model

MIN_PIPELINE_CONTAINERS = 2
MAX_PIPELINE_CONTAINERS = 15


def check_containers(params: dict) -> str:
    """The documented rules of a model's containers; returns its InferenceExecutionConfig Mode."""
    primary, containers = params.get("PrimaryContainer"), params.get("Containers")
    require(bool(primary) != bool(containers),
            "Either PrimaryContainer or Containers must be specified, but not both: use PrimaryContainer "
            "for a single container and Containers for an inference pipeline of 2 to 15 containers.")
    mode = (params.get("InferenceExecutionConfig") or {}).get("Mode", "Serial")
    if containers:
        _check_pipeline(containers, mode)
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
    return mode


def _check_pipeline(containers: list[dict], mode: str) -> None:
    require(MIN_PIPELINE_CONTAINERS <= len(containers) <= MAX_PIPELINE_CONTAINERS,
            f"An inference pipeline must have between {MIN_PIPELINE_CONTAINERS} and "
            f"{MAX_PIPELINE_CONTAINERS} containers in Containers, but {len(containers)} were given. "
            "For a single container use PrimaryContainer.")
    named = [c.get("ContainerHostname") for c in containers if c.get("ContainerHostname")]
    if mode == "Direct":
        require(len(named) == len(containers),
                "ContainerHostname must be specified for every container when InferenceExecutionConfig "
                "Mode is Direct: the caller picks a container with TargetContainerHostname.")
    require(not named or len(named) == len(containers),
            "If ContainerHostname is specified for one container of an inference pipeline, it must be "
            "specified for every container in Containers.")
    require(len(set(named)) == len(named),
            f"ContainerHostname values must be unique within a model; got {', '.join(named)}.")


def check_variants(variants: list[dict]) -> None:
    names = [v["VariantName"] for v in variants]
    require(len(set(names)) == len(names),
            f"VariantName values must be unique within an endpoint config; got {', '.join(names)}.")
    for variant in variants:
        require(bool(variant.get("ModelName")), f"ModelName is required in production variant "
                                                f"{variant['VariantName']}.")
        require(variant.get("ServerlessConfig") is not None or bool(variant.get("InstanceType")),
                f"InstanceType is required in production variant {variant['VariantName']} "
                "(or ServerlessConfig for a serverless endpoint).")


class Models(ResourceFamily):
    def __init__(self, ctx, store, registry=None):
        super().__init__(ctx, store)
        self.registry = registry  # the model registry (registry/packages.py): containers that name a package
        self.models = RecordTable(self, "models", Model,
                                  lambda name: not_found("model", self.arn("model", name)))
        self.configs = RecordTable(self, "endpoint-configs", EndpointConfig, lambda name: not_found(
            "endpoint configuration", self.arn("endpoint-config", name)))

    def start(self) -> None:
        self.models.load()
        self.configs.load()

    # ---- for endpoints and transform jobs ----

    def model(self, name: str) -> dict:
        """A copy of the model's record; ValidationException as SageMaker words it if there is none."""
        return self.models.get(name)

    def config(self, name: str) -> dict:
        return self.configs.get(name)

    def models_for(self, config: dict) -> dict[str, dict]:
        """Every model an endpoint config's variants name."""
        return {v["ModelName"]: self.model(v["ModelName"]) for v in config["ProductionVariants"]}

    # ---- models ----

    def create_model(self, params: dict) -> dict:
        name = params["ModelName"]
        if self.registry is not None:  # a container {"ModelPackageName": ...} runs the package's containers
            params = self.registry.model_containers(params)
        mode = check_containers(params)
        arn = self.arn("model", name)
        record = {"ModelName": name, "ModelArn": arn, "CreationTime": utc_now(),
                  "ExecutionRoleArn": params.get("ExecutionRoleArn"),
                  "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False))}
        if params.get("PrimaryContainer"):
            record["PrimaryContainer"] = params["PrimaryContainer"]
        else:
            record["Containers"] = params["Containers"]
            record["InferenceExecutionConfig"] = {"Mode": mode}
        record.update({key: params[key] for key in ("VpcConfig", "DeploymentRecommendation") if params.get(key)})
        self.models.insert(name, {k: v for k, v in record.items() if v is not None}, already_exists("model", arn))
        return {"ModelArn": arn}

    def describe_model(self, params: dict) -> dict:
        return self.models.get(params["ModelName"])

    def list_models(self, params: dict) -> dict:
        return list_page(self.models.descriptions(), params, "ListModels", name_key="ModelName",
                         result_key="Models", fields=["ModelName", "ModelArn", "CreationTime"], default_max=100)

    def delete_model(self, params: dict) -> dict:
        self.models.delete(params["ModelName"])
        return {}

    # ---- endpoint configs ----

    def create_endpoint_config(self, params: dict) -> dict:
        name = params["EndpointConfigName"]
        variants = params["ProductionVariants"]
        check_variants(variants)
        for variant in variants:
            self.model(variant["ModelName"])
        arn = self.arn("endpoint-config", name)
        record = {"EndpointConfigName": name, "EndpointConfigArn": arn,
                  "ProductionVariants": [{"InitialVariantWeight": 1.0, **v} for v in variants],
                  "CreationTime": utc_now()}
        record.update({key: params[key] for key in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig",
                                                    "ShadowProductionVariants") if params.get(key)})
        self.configs.insert(name, record, already_exists("endpoint configuration", arn))
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, params: dict) -> dict:
        return self.configs.get(params["EndpointConfigName"])

    def list_endpoint_configs(self, params: dict) -> dict:
        return list_page(self.configs.descriptions(), params, "ListEndpointConfigs",
                         name_key="EndpointConfigName", result_key="EndpointConfigs",
                         fields=["EndpointConfigName", "EndpointConfigArn", "CreationTime"], default_max=100)

    def delete_endpoint_config(self, params: dict) -> dict:
        self.configs.delete(params["EndpointConfigName"])
        return {}
