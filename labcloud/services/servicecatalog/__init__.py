"""Service Catalog (Smithy RPC v2 CBOR, and JSON 1.1): the SageMaker project templates labcloud ships."""

from labcloud.services.servicecatalog.service import SERVICE

__all__ = ["SERVICE"]
