"""The catalog: the SageMaker project templates labcloud ships, as Service Catalog products (read-only)."""
