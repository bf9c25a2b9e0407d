"""labcloud's Service Catalog: the SageMaker project templates it ships, listed as products, so that a
learner can find a template's ProductId and ProvisioningArtifactId the older way and pass them to
SageMaker's CreateProject (ServiceCatalogProvisioningDetails).

botocore speaks Smithy RPC v2 CBOR to Service Catalog (protocols.rpc_v2_cbor); clients that still speak
its JSON 1.1 (X-Amz-Target AWS242ServiceCatalogService.<Operation>) are answered too. The catalog has no
state to load, so the service serves as soon as the endpoint does.
"""

from __future__ import annotations

from labcloud.core.errors import UnknownOperationException
from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.rpc_v2_cbor import RpcV2CborService, operation_path
from labcloud.protocols.validation import service_model
from labcloud.services.servicecatalog.catalog.products import Catalog
from labcloud.services.servicecatalog.operations import OPERATIONS

TARGET_PREFIX = "AWS242ServiceCatalogService"  # the model's targetPrefix, also the RPC v2 service name
NAMESPACE = "com.amazonaws.servicecatalog"


class ServiceCatalogService(RpcV2CborService):
    botocore_name = "servicecatalog"
    smithy_namespace = NAMESPACE

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.catalog = Catalog(ctx)
        self.operations = {operation: getattr(self.catalog, method) for operation, method in OPERATIONS.items()}
        self.check_operations()

    def invoke(self, operation: str, params: dict) -> dict:
        if operation not in self.operations and operation in service_model(self.botocore_name).operation_names:
            raise UnknownOperationException(
                f"labcloud's Service Catalog does not serve {operation}: it lists only the SageMaker project "
                f"templates labcloud ships, read-only ({', '.join(sorted(self.operations))}). To use a template, "
                f"pass its ProductId and ProvisioningArtifactId to SageMaker's CreateProject "
                f"(ServiceCatalogProvisioningDetails), or your own template's S3 URL (TemplateProviders).")
        return super().invoke(operation, params)

    def status(self) -> dict:
        return self.catalog.status()


SERVICE = ServiceDefinition(
    name="servicecatalog",
    routes=Routes(json_target_prefix=TARGET_PREFIX,
                  rest_paths=(("POST", operation_path(TARGET_PREFIX, NAMESPACE)),),
                  signing_names=("servicecatalog",)),
    factory=ServiceCatalogService, health_names=("servicecatalog",), gated=False)
