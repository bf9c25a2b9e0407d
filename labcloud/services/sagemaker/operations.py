"""The SageMaker API that labcloud serves: every operation, and the family method that answers it.

Only what is listed here is reachable from the wire; a family's other methods (its helpers for workers
and sibling families) are not. Each method takes the request's parameters as a dict and returns the
response as a dict (datetimes allowed; the protocol layer serializes them).
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {
    # training/
    "CreateTrainingJob": "training.create_training_job",
    "DescribeTrainingJob": "training.describe_training_job",
    "ListTrainingJobs": "training.list_training_jobs",
    "StopTrainingJob": "training.stop_training_job",
    # hosting/models.py
    "CreateModel": "models.create_model",
    "DescribeModel": "models.describe_model",
    "ListModels": "models.list_models",
    "DeleteModel": "models.delete_model",
    "CreateEndpointConfig": "models.create_endpoint_config",
    "DescribeEndpointConfig": "models.describe_endpoint_config",
    "ListEndpointConfigs": "models.list_endpoint_configs",
    "DeleteEndpointConfig": "models.delete_endpoint_config",
    # hosting/endpoints.py
    "CreateEndpoint": "endpoints.create_endpoint",
    "DescribeEndpoint": "endpoints.describe_endpoint",
    "ListEndpoints": "endpoints.list_endpoints",
    "UpdateEndpoint": "endpoints.update_endpoint",
    "DeleteEndpoint": "endpoints.delete_endpoint",
    # transform/
    "CreateTransformJob": "transform.create_transform_job",
    "DescribeTransformJob": "transform.describe_transform_job",
    "ListTransformJobs": "transform.list_transform_jobs",
    "StopTransformJob": "transform.stop_transform_job",
    # processing/
    "CreateProcessingJob": "processing.create_processing_job",
    "DescribeProcessingJob": "processing.describe_processing_job",
    "ListProcessingJobs": "processing.list_processing_jobs",
    "StopProcessingJob": "processing.stop_processing_job",
    # registry/
    "CreateModelPackageGroup": "registry.create_model_package_group",
    "DescribeModelPackageGroup": "registry.describe_model_package_group",
    "ListModelPackageGroups": "registry.list_model_package_groups",
    "DeleteModelPackageGroup": "registry.delete_model_package_group",
    "CreateModelPackage": "registry.create_model_package",
    "DescribeModelPackage": "registry.describe_model_package",
    "ListModelPackages": "registry.list_model_packages",
    "UpdateModelPackage": "registry.update_model_package",
    "DeleteModelPackage": "registry.delete_model_package",
    # pipelines/
    "CreatePipeline": "pipelines.create_pipeline",
    "UpdatePipeline": "pipelines.update_pipeline",
    "DescribePipeline": "pipelines.describe_pipeline",
    "ListPipelines": "pipelines.list_pipelines",
    "DeletePipeline": "pipelines.delete_pipeline",
    "StartPipelineExecution": "pipelines.start_pipeline_execution",
    "DescribePipelineExecution": "pipelines.describe_pipeline_execution",
    "ListPipelineExecutions": "pipelines.list_pipeline_executions",
    "ListPipelineExecutionSteps": "pipelines.list_pipeline_execution_steps",
    "StopPipelineExecution": "pipelines.stop_pipeline_execution",
    "RetryPipelineExecution": "pipelines.retry_pipeline_execution",
    "ListPipelineParametersForExecution": "pipelines.list_pipeline_parameters_for_execution",
    "DescribePipelineDefinitionForExecution": "pipelines.describe_pipeline_definition_for_execution",
    # projects/
    "CreateProject": "projects.create_project",
    "DescribeProject": "projects.describe_project",
    "ListProjects": "projects.list_projects",
    "UpdateProject": "projects.update_project",
    "DeleteProject": "projects.delete_project",
    # tagging/
    "AddTags": "tags.add_tags",
    "ListTags": "tags.list_tags",
    "DeleteTags": "tags.delete_tags",
}
