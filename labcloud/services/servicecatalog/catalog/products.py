"""The catalog's read operations: finding the products (the shipped project templates), their provisioning
artifacts and launch paths, in Service Catalog's shapes and errors. A product or artifact that does not
exist is a ResourceNotFoundException naming what does; a request that names nothing is an
InvalidParametersException."""

from __future__ import annotations

from labcloud.runtime.project_templates import TEMPLATES
from labcloud.services.servicecatalog.catalog import paging, search
from labcloud.services.servicecatalog.catalog.records import ARTIFACT_NAME, PORTFOLIO, Product
from labcloud.services.servicecatalog.exceptions import InvalidParametersException, ResourceNotFoundException


class Catalog:
    def __init__(self, ctx):
        self.products = [Product(template, ctx.region, ctx.account_id) for template in TEMPLATES]
        self.portfolio = PORTFOLIO

    def status(self) -> dict:
        return {"servicecatalog_products": [p.id for p in self.products]}

    # --- lookups -------------------------------------------------------------------------------------

    def _listing(self) -> str:
        shipped = ", ".join(f"{p.id} ({p.name})" for p in self.products)
        return (f"labcloud's Service Catalog lists the SageMaker project templates labcloud ships: {shipped}. "
                f"Find them with SearchProducts, e.g. Filters={{'FullTextSearch': ['MLOps']}}.")

    def product(self, product_id: str | None = None, name: str | None = None) -> Product:
        if product_id:
            found = next((p for p in self.products if p.id == product_id), None)
            if found is None:
                raise ResourceNotFoundException(f"Product {product_id} not found. {self._listing()}")
            return found
        if name:
            found = next((p for p in self.products if p.name == name), None)
            if found is None:
                raise ResourceNotFoundException(f"No product is named {name!r}. {self._listing()}")
            return found
        raise InvalidParametersException("Name the product: give its Id (ProductId) or its Name (ProductName).")

    def product_view(self, view_id: str) -> Product:
        found = next((p for p in self.products if p.view_id == view_id), None)
        if found is None:
            raise ResourceNotFoundException(f"Product view {view_id} not found. {self._listing()}")
        return found

    def _check_artifact(self, product: Product, artifact_id: str | None, artifact_name: str | None) -> None:
        if artifact_id and artifact_id != product.artifact_id:
            raise ResourceNotFoundException(
                f"Provisioning artifact {artifact_id} of product {product.id} not found: its only provisioning "
                f"artifact is {product.artifact_id} ({ARTIFACT_NAME}). See ListProvisioningArtifacts.")
        if artifact_name and artifact_name != ARTIFACT_NAME:
            raise ResourceNotFoundException(
                f"Product {product.id} has no provisioning artifact named {artifact_name!r}: its only one is "
                f"{ARTIFACT_NAME} ({product.artifact_id}).")
        if not artifact_id and not artifact_name:
            raise InvalidParametersException(
                "Name the provisioning artifact: give ProvisioningArtifactId or ProvisioningArtifactName.")

    # --- products ------------------------------------------------------------------------------------

    def _found(self, params: dict, operation: str) -> tuple[list[Product], str | None, list[Product]]:
        found = [p for p in self.products if search.matches(p, params.get("Filters"))]
        shown, token = paging.page(search.ordered(found, params), params, operation)
        return shown, token, found

    def search_products(self, params: dict) -> dict:
        shown, token, found = self._found(params, "SearchProducts")
        result = {"ProductViewSummaries": [p.summary() for p in shown],
                  "ProductViewAggregations": search.aggregations(found)}
        if token:
            result["NextPageToken"] = token
        return result

    def search_products_as_admin(self, params: dict) -> dict:
        portfolio = params.get("PortfolioId")
        if portfolio and portfolio != self.portfolio.id:
            raise ResourceNotFoundException(f"Portfolio {portfolio} not found: labcloud's products are in portfolio "
                                            f"{self.portfolio.id} ({self.portfolio.name}).")
        if params.get("ProductSource") == "ACCOUNT":
            # These products are shared with the account (as SageMaker shares its own), not created in it.
            return {"ProductViewDetails": []}
        shown, token, _ = self._found(params, "SearchProductsAsAdmin")
        result = {"ProductViewDetails": [p.detail() for p in shown]}
        if token:
            result["NextPageToken"] = token
        return result

    def describe_product(self, params: dict) -> dict:
        product = self.product(params.get("Id"), params.get("Name"))
        return {"ProductViewSummary": product.summary(), "ProvisioningArtifacts": [product.artifact()],
                "Budgets": [], "LaunchPaths": [self.portfolio.launch_path()]}

    def describe_product_as_admin(self, params: dict) -> dict:
        product = self.product(params.get("Id"), params.get("Name"))
        source = params.get("SourcePortfolioId")
        if source and source != self.portfolio.id:
            raise ResourceNotFoundException(f"Portfolio {source} not found: product {product.id} is in portfolio "
                                            f"{self.portfolio.id}.")
        return {"ProductViewDetail": product.detail(), "ProvisioningArtifactSummaries": [product.artifact_summary()],
                "Tags": product.tags(), "TagOptions": [], "Budgets": []}

    def describe_product_view(self, params: dict) -> dict:
        product = self.product_view(params["Id"])
        return {"ProductViewSummary": product.summary(), "ProvisioningArtifacts": [product.artifact()]}

    # --- provisioning artifacts and launch paths -----------------------------------------------------

    def list_provisioning_artifacts(self, params: dict) -> dict:
        product = self.product(params["ProductId"])
        return {"ProvisioningArtifactDetails": [product.artifact_detail()]}

    def describe_provisioning_artifact(self, params: dict) -> dict:
        product = self.product(params.get("ProductId"), params.get("ProductName"))
        self._check_artifact(product, params.get("ProvisioningArtifactId"), params.get("ProvisioningArtifactName"))
        result = {"ProvisioningArtifactDetail": product.artifact_detail(),
                  "Info": {"TemplateUrl": product.template_url()}, "Status": "AVAILABLE"}
        if params.get("IncludeProvisioningArtifactParameters"):
            result["ProvisioningArtifactParameters"] = product.parameters()
        return result

    def list_launch_paths(self, params: dict) -> dict:
        self.product(params["ProductId"])
        shown, token = paging.page([self.portfolio.launch_path_summary()], params, "ListLaunchPaths")
        result = {"LaunchPathSummaries": shown}
        if token:
            result["NextPageToken"] = token
        return result
