"""Stand-in AWS clients for the stacks engine's unit tests: boto3's client-side parameter validation
(botocore's model, as a real client does it) in front of a few services kept in dicts, every call
recorded, and failures injected per operation."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator

from labcloud.core.constants import ACCOUNT_ID, REGION

_SESSION = botocore.session.get_session()
_MODELS: dict[str, object] = {}


def client_error(operation: str, code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def _operation_name(service_model, snake: str) -> str:
    for name in service_model.operation_names:
        if botocore.xform_name(name) == snake:
            return name
    raise AttributeError(f"{service_model.service_name} has no operation {snake}")


class FakeClient:
    def __init__(self, cloud: "FakeCloud", service: str):
        self.cloud, self.service = cloud, service
        if service not in _MODELS:
            _MODELS[service] = _SESSION.get_service_model(service)
        self.model = _MODELS[service]

    def __getattr__(self, snake: str):
        operation = _operation_name(self.model, snake)

        def call(**params):
            report = ParamValidator().validate(params, self.model.operation_model(operation).input_shape)
            if report.has_errors():
                raise ParamValidationError(report=report.generate_report())
            self.cloud.calls.append((self.service, snake, params))
            failure = self.cloud.failures.get((self.service, snake))
            if failure is not None and failure(params):
                raise client_error(operation, *self.cloud.failure_codes[(self.service, snake)])
            return getattr(self.cloud, f"{self.service.replace('-', '_')}_{snake}")(operation, **params)

        return call


class FakeCloud:
    """The services' state. `fail(service, op, code, message, when=lambda params: True)` makes an
    operation fail; `endpoint_settles` how an endpoint ends ("InService" or a FailureReason)."""

    def __init__(self, repositories_dir: Path | None = None):
        self.calls: list[tuple[str, str, dict]] = []
        self.failures, self.failure_codes = {}, {}
        self.repositories_dir = repositories_dir
        self.buckets: dict[str, dict] = {}
        self.models, self.configs, self.endpoints, self.groups, self.tags = {}, {}, {}, {}, {}
        self.repositories, self.projects, self.pipelines, self.rules = {}, {}, {}, {}
        self.failing_images: set[str] = set()  # an endpoint whose model runs one of these fails

    def __call__(self, service: str) -> FakeClient:
        return FakeClient(self, service)

    def fail(self, service: str, snake: str, code: str, message: str, when=lambda params: True) -> None:
        self.failures[(service, snake)] = when
        self.failure_codes[(service, snake)] = (code, message)

    def ops(self, service: str | None = None) -> list[str]:
        return [op for s, op, _ in self.calls if service is None or s == service]

    def params(self, service: str, snake: str) -> list[dict]:
        return [p for s, op, p in self.calls if s == service and op == snake]

    # ---- S3 ----

    def s3_head_bucket(self, op, Bucket):
        if Bucket not in self.buckets:
            raise client_error(op, "404", "Not Found", 404)
        return {}

    def s3_create_bucket(self, op, Bucket, **_):
        self.buckets[Bucket] = {"objects": {}, "tags": None, "versioning": None}
        return {"Location": f"/{Bucket}"}

    def s3_delete_bucket(self, op, Bucket):
        if Bucket not in self.buckets:
            raise client_error(op, "NoSuchBucket", "The specified bucket does not exist", 404)
        if self.buckets[Bucket]["objects"]:
            raise client_error(op, "BucketNotEmpty", "The bucket you tried to delete is not empty", 409)
        del self.buckets[Bucket]
        return {}

    def s3_put_bucket_tagging(self, op, Bucket, Tagging):
        self.buckets[Bucket]["tags"] = Tagging["TagSet"]
        return {}

    def s3_delete_bucket_tagging(self, op, Bucket):
        self.buckets[Bucket]["tags"] = None
        return {}

    def s3_put_bucket_versioning(self, op, Bucket, VersioningConfiguration):
        self.buckets[Bucket]["versioning"] = VersioningConfiguration["Status"]
        return {}

    def s3_put_object(self, op, Bucket, Key, Body=b""):
        self.buckets.setdefault(Bucket, {"objects": {}, "tags": None, "versioning": None})
        self.buckets[Bucket]["objects"][Key] = Body if isinstance(Body, bytes) else Body.encode()
        return {}

    def s3_get_object(self, op, Bucket, Key, **_):
        try:
            data = self.buckets[Bucket]["objects"][Key]
        except KeyError:
            raise client_error(op, "NoSuchKey", "The specified key does not exist.", 404) from None
        import io
        return {"Body": io.BytesIO(data)}

    # ---- SageMaker ----

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name.lower()}"

    def sagemaker_create_model_package_group(self, op, ModelPackageGroupName, **rest):
        if ModelPackageGroupName in self.groups:
            raise client_error(op, "ValidationException", "Model Package Group already exists")
        self.groups[ModelPackageGroupName] = rest
        return {"ModelPackageGroupArn": self._arn("model-package-group", ModelPackageGroupName)}

    def sagemaker_describe_model_package_group(self, op, ModelPackageGroupName):
        return {"ModelPackageGroupName": ModelPackageGroupName, "CreationTime": "2024-01-01T00:00:00Z",
                "ModelPackageGroupStatus": "Completed"}

    def sagemaker_delete_model_package_group(self, op, ModelPackageGroupName):
        if self.groups.pop(ModelPackageGroupName, None) is None:
            raise client_error(op, "ValidationException", f"ModelPackageGroup {ModelPackageGroupName} does not exist.")
        return {}

    def sagemaker_create_model(self, op, ModelName, **rest):
        if ModelName in self.models:
            raise client_error(op, "ValidationException", f'Cannot create already existing model "{ModelName}".')
        self.models[ModelName] = rest
        return {"ModelArn": self._arn("model", ModelName)}

    def sagemaker_delete_model(self, op, ModelName):
        if self.models.pop(ModelName, None) is None:
            raise client_error(op, "ValidationException", f'Could not find model "{ModelName}".')
        return {}

    def sagemaker_create_endpoint_config(self, op, EndpointConfigName, ProductionVariants, **rest):
        missing = [v["ModelName"] for v in ProductionVariants if v["ModelName"] not in self.models]
        if missing:
            raise client_error(op, "ValidationException", f'Could not find model "{missing[0]}".')
        self.configs[EndpointConfigName] = {"ProductionVariants": ProductionVariants, **rest}
        return {"EndpointConfigArn": self._arn("endpoint-config", EndpointConfigName)}

    def sagemaker_delete_endpoint_config(self, op, EndpointConfigName):
        if self.configs.pop(EndpointConfigName, None) is None:
            raise client_error(op, "ValidationException", f'Could not find endpoint configuration "{EndpointConfigName}".')
        return {}

    def _outcome(self, config_name: str) -> str | None:
        for variant in self.configs[config_name]["ProductionVariants"]:
            image = (self.models[variant["ModelName"]].get("PrimaryContainer") or {}).get("Image")
            if image in self.failing_images:
                return f"The primary container for production variant {variant['VariantName']} did not pass the ping health check."
        return None

    def sagemaker_create_endpoint(self, op, EndpointName, EndpointConfigName, **rest):
        if EndpointName in self.endpoints:
            raise client_error(op, "ValidationException", f'Cannot create already existing endpoint "{EndpointName}".')
        if EndpointConfigName not in self.configs:
            raise client_error(op, "ValidationException", f'Could not find endpoint configuration "{EndpointConfigName}".')
        self.endpoints[EndpointName] = {"EndpointName": EndpointName, "EndpointStatus": "Creating",
                                        "EndpointConfigName": EndpointConfigName, "pending": EndpointConfigName,
                                        "Tags": rest.get("Tags")}
        return {"EndpointArn": self._arn("endpoint", EndpointName)}

    def sagemaker_update_endpoint(self, op, EndpointName, EndpointConfigName, **rest):
        endpoint = self.endpoints[EndpointName]
        if endpoint["EndpointStatus"] != "InService":
            raise client_error(op, "ValidationException", "Cannot update in-progress endpoint")
        if EndpointConfigName not in self.configs:
            raise client_error(op, "ValidationException", f'Could not find endpoint configuration "{EndpointConfigName}".')
        endpoint.update(EndpointStatus="Updating", pending=EndpointConfigName)
        return {"EndpointArn": self._arn("endpoint", EndpointName)}

    def sagemaker_describe_endpoint(self, op, EndpointName):
        if EndpointName not in self.endpoints:
            raise client_error(op, "ValidationException", f'Could not find endpoint "{EndpointName}".')
        endpoint = self.endpoints[EndpointName]
        shown = {k: v for k, v in endpoint.items() if k not in ("pending", "seen")}
        if endpoint["EndpointStatus"] in ("Creating", "Updating"):
            if not endpoint.get("seen"):  # the first look sees it in progress, the next one settled
                endpoint["seen"] = True
                return shown
            reason = self._outcome(endpoint["pending"])
            endpoint["seen"] = False
            if reason is None:
                endpoint.update(EndpointStatus="InService", EndpointConfigName=endpoint["pending"], FailureReason=None)
            elif endpoint["EndpointStatus"] == "Creating":
                endpoint.update(EndpointStatus="Failed", FailureReason=reason)
            else:  # SageMaker rolls a failed update back: the old config keeps serving
                endpoint.update(EndpointStatus="InService", FailureReason=reason)
            shown = {k: v for k, v in endpoint.items() if k not in ("pending", "seen")}
        return shown

    def sagemaker_delete_endpoint(self, op, EndpointName):
        if self.endpoints.pop(EndpointName, None) is None:
            raise client_error(op, "ValidationException", f'Could not find endpoint "{EndpointName}".')
        return {}

    def sagemaker_add_tags(self, op, ResourceArn, Tags):
        self.tags.setdefault(ResourceArn, {}).update({t["Key"]: t["Value"] for t in Tags})
        return {"Tags": Tags}

    def sagemaker_delete_tags(self, op, ResourceArn, TagKeys):
        for key in TagKeys:
            self.tags.get(ResourceArn, {}).pop(key, None)
        return {}

    # ---- CodeCommit: repositories are bare git repositories in repositories_dir ----

    def _repository(self, name: str) -> dict:
        return {"repositoryId": self.repositories[name]["id"], "repositoryName": name,
                "Arn": f"arn:aws:codecommit:{REGION}:{ACCOUNT_ID}:{name}",
                "cloneUrlHttp": self.repositories[name]["url"], "cloneUrlSsh": f"ssh://fake/{name}"}

    def codecommit_create_repository(self, op, repositoryName, **rest):
        if repositoryName in self.repositories:
            raise client_error(op, "RepositoryNameExistsException", f"Repository named {repositoryName} already exists")
        url = ""
        if self.repositories_dir is not None:
            path = self.repositories_dir / f"{repositoryName}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
            url = str(path)
        self.repositories[repositoryName] = {"id": str(uuid.uuid4()), "url": url, **rest}
        return {"repositoryMetadata": self._repository(repositoryName)}

    def codecommit_get_repository(self, op, repositoryName):
        if repositoryName not in self.repositories:
            raise client_error(op, "RepositoryDoesNotExistException", f"{repositoryName} does not exist")
        return {"repositoryMetadata": self._repository(repositoryName)}

    def codecommit_update_repository_name(self, op, oldName, newName):
        self.repositories[newName] = self.repositories.pop(oldName)
        return {}

    def codecommit_update_repository_description(self, op, repositoryName, repositoryDescription=""):
        self.repositories[repositoryName]["repositoryDescription"] = repositoryDescription
        return {}

    def codecommit_delete_repository(self, op, repositoryName):
        gone = self.repositories.pop(repositoryName, None)
        return {"repositoryId": gone["id"]} if gone else {}

    # ---- CodeBuild ----

    def codebuild_create_project(self, op, name, **rest):
        if name in self.projects:
            raise client_error(op, "ResourceAlreadyExistsException", f"Project already exists: {name}")
        self.projects[name] = rest
        return {"project": {"name": name, "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT_ID}:project/{name}"}}

    def codebuild_update_project(self, op, name, **rest):
        self.projects[name].update(rest)
        return {"project": {"name": name, "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT_ID}:project/{name}"}}

    def codebuild_delete_project(self, op, name):
        self.projects.pop(name, None)
        return {}

    # ---- CodePipeline ----

    def codepipeline_create_pipeline(self, op, pipeline, **rest):
        if pipeline["name"] in self.pipelines:
            raise client_error(op, "PipelineNameInUseException", f"Pipeline {pipeline['name']} already exists")
        self.pipelines[pipeline["name"]] = {**pipeline, "version": 1}
        return {"pipeline": self.pipelines[pipeline["name"]]}

    def codepipeline_update_pipeline(self, op, pipeline):
        version = self.pipelines[pipeline["name"]]["version"] + 1
        self.pipelines[pipeline["name"]] = {**pipeline, "version": version}
        return {"pipeline": self.pipelines[pipeline["name"]]}

    def codepipeline_delete_pipeline(self, op, name):
        self.pipelines.pop(name, None)
        return {}

    def codepipeline_start_pipeline_execution(self, op, name, **rest):
        return {"pipelineExecutionId": str(uuid.uuid4())}

    # ---- EventBridge ----

    def events_put_rule(self, op, Name, EventBusName="default", **rest):
        rule = self.rules.setdefault((EventBusName, Name), {"targets": {}})
        rule.update(rest)
        prefix = "" if EventBusName == "default" else f"{EventBusName}/"
        return {"RuleArn": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{prefix}{Name}"}

    def events_put_targets(self, op, Rule, Targets, EventBusName="default"):
        self.rules[(EventBusName, Rule)]["targets"].update({t["Id"]: t for t in Targets})
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def events_remove_targets(self, op, Rule, Ids, EventBusName="default", **_):
        for target in Ids:
            self.rules[(EventBusName, Rule)]["targets"].pop(target, None)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def events_list_targets_by_rule(self, op, Rule, EventBusName="default", **_):
        if (EventBusName, Rule) not in self.rules:
            raise client_error(op, "ResourceNotFoundException", f"Rule {Rule} does not exist.")
        return {"Targets": list(self.rules[(EventBusName, Rule)]["targets"].values())}

    def events_delete_rule(self, op, Name, EventBusName="default", **_):
        rule = self.rules.get((EventBusName, Name))
        if rule and rule["targets"]:
            raise client_error(op, "ValidationException", "Rule can't be deleted since it has targets.")
        self.rules.pop((EventBusName, Name), None)
        return {}
