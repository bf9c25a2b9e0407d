"""Every Service Catalog operation labcloud serves, and the method of the catalog that serves it.

Only reads: the catalog is the SageMaker project templates labcloud ships. The other operations
(CreateProduct, ProvisionProduct, portfolios, ...) answer UnknownOperationException saying so."""

OPERATIONS = {
    "SearchProducts": "search_products",
    "SearchProductsAsAdmin": "search_products_as_admin",
    "DescribeProduct": "describe_product",
    "DescribeProductAsAdmin": "describe_product_as_admin",
    "DescribeProductView": "describe_product_view",
    "ListProvisioningArtifacts": "list_provisioning_artifacts",
    "DescribeProvisioningArtifact": "describe_provisioning_artifact",
    "ListLaunchPaths": "list_launch_paths",
}
