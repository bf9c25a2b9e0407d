"""labcloud's Service Catalog as a learner reaches it with boto3: the SageMaker project templates found the
older way (SearchProducts, the product, its provisioning artifact, its launch path), AWS's error codes for
what does not exist, and the ids handed to SageMaker's CreateProject.

Every learner-facing test runs over both protocols of the model: JSON 1.1, which botocore 1.44 picks
(its protocol priority puts "json" before "smithy-rpc-v2-cbor"), and Smithy RPC v2 CBOR, which a client
of a model that lists only CBOR speaks (as other AWS SDKs already do for this service)."""

from __future__ import annotations

import gzip
import json
import re
import types
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from labcloud.protocols import cbor
from labcloud.runtime.project_templates import MLOPS_BUILD_DEPLOY, template_url
from labcloud.services.servicecatalog import SERVICE
from tests.support.signing import bearer, signed_request

REGION = "us-east-1"
CBOR_PATH = "/service/AWS242ServiceCatalogService/operation/"
MLOPS = MLOPS_BUILD_DEPLOY


def _cbor_only_model(root: Path) -> Path:
    """botocore's Service Catalog model with RPC v2 CBOR as its only protocol, where a session can load it."""
    source = Path(botocore.__file__).parent / "data" / "servicecatalog" / "2015-12-10" / "service-2.json.gz"
    model = json.loads(gzip.decompress(source.read_bytes()))
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    folder = root / "servicecatalog" / "2015-12-10"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    return root


@pytest.fixture(scope="session")
def cbor_models(labcloud_server, tmp_path_factory):
    return _cbor_only_model(tmp_path_factory.mktemp("botocore-models"))


def make_client(protocol: str, models: Path, **config):
    """json: the default session's client, as a learner makes it; cbor: one of a session that loads the
    CBOR-only model."""
    if protocol == "json":
        client = boto3.client("servicecatalog", config=Config(**config))
    else:
        core = botocore.session.get_session()
        core.get_component("data_loader").search_paths.insert(0, str(models))
        client = boto3.Session(botocore_session=core).client("servicecatalog", config=Config(**config))
    wanted = {"json": "json", "cbor": "smithy-rpc-v2-cbor"}[protocol]
    assert client.meta.service_model.resolved_protocol == wanted
    return client


@pytest.fixture(params=["json", "cbor"])
def protocol(request):
    return request.param


@pytest.fixture
def sc(protocol, cbor_models):
    return make_client(protocol, cbor_models)


@pytest.fixture
def sc_unchecked(protocol, cbor_models):
    """A client that sends what botocore's own parameter check would stop, so that labcloud's check answers."""
    return make_client(protocol, cbor_models, parameter_validation=False)


def content_type(response: dict) -> str:
    return response["ResponseMetadata"]["HTTPHeaders"]["content-type"]


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]


def find_mlops(sc) -> tuple[str, str]:
    """What a learner does: search for the template by its name, then list its provisioning artifacts."""
    found = sc.search_products(Filters={"FullTextSearch": [MLOPS.name]})["ProductViewSummaries"]
    assert len(found) == 1
    product_id = found[0]["ProductId"]
    artifacts = sc.list_provisioning_artifacts(ProductId=product_id)["ProvisioningArtifactDetails"]
    return product_id, artifacts[0]["Id"]


# --- finding the template ----------------------------------------------------------------------------

def test_full_text_search_finds_the_mlops_template(sc, protocol):
    response = sc.search_products(Filters={"FullTextSearch": [MLOPS.name]})
    assert content_type(response) == ("application/cbor" if protocol == "cbor" else "application/x-amz-json-1.1")
    if protocol == "cbor":
        assert response["ResponseMetadata"]["HTTPHeaders"]["smithy-protocol"] == "rpc-v2-cbor"
    (summary,) = response["ProductViewSummaries"]
    assert summary["ProductId"] == MLOPS.product_id and summary["Name"] == MLOPS.name
    assert summary["Owner"] == "Amazon SageMaker" and summary["Type"] == "CLOUD_FORMATION_TEMPLATE"
    assert summary["ShortDescription"] == MLOPS.description and summary["Distributor"]
    assert summary["HasDefaultPath"] is True and summary["Id"].startswith("prodview-")
    assert response["ProductViewAggregations"]["Owner"] == [{"Value": "Amazon SageMaker", "ApproximateCount": 1}]
    assert "NextPageToken" not in response


@pytest.mark.parametrize("filters, found", [
    ({"FullTextSearch": ["mlops DEPLOYMENT"]}, True),  # every word, in any case, anywhere in the product
    ({"FullTextSearch": ["tensorflow serving"]}, False),
    ({"FullTextSearch": ["tensorflow", "model building"]}, True),  # one filter's values are alternatives
    ({"Owner": ["Amazon SageMaker"]}, True),
    ({"Owner": ["Someone Else"]}, False),
    ({"ProductType": ["CLOUD_FORMATION_TEMPLATE"]}, True),
    ({"ProductType": ["MARKETPLACE"]}, False),
    ({"FullTextSearch": ["MLOps"], "Owner": ["Someone Else"]}, False),  # filters together must all hold
    ({}, True),
])
def test_search_filters(sc, filters, found):
    ids = [p["ProductId"] for p in sc.search_products(Filters=filters)["ProductViewSummaries"]]
    assert ids == ([MLOPS.product_id] if found else [])


def test_search_sorts_and_pages(sc):
    for sort_by in ("Title", "VersionCount", "CreationDate"):
        for order in ("ASCENDING", "DESCENDING"):
            page = sc.search_products(SortBy=sort_by, SortOrder=order, PageSize=1)
            assert [p["ProductId"] for p in page["ProductViewSummaries"]] == [MLOPS.product_id]
    error = error_of(sc.search_products, PageToken="not-a-token")
    assert error["Code"] == "InvalidParametersException" and "NextPageToken" in error["Message"]


def test_the_provisioning_artifact_and_its_template(sc, s3):
    product_id, artifact_id = find_mlops(sc)
    assert artifact_id == MLOPS.provisioning_artifact_id
    (artifact,) = sc.list_provisioning_artifacts(ProductId=product_id)["ProvisioningArtifactDetails"]
    assert artifact["Name"] == "v1.0" and artifact["Type"] == "CLOUD_FORMATION_TEMPLATE"
    assert artifact["Active"] is True and artifact["Guidance"] == "DEFAULT" and artifact["Description"]
    assert artifact["CreatedTime"].year == 2024 and artifact["CreatedTime"].utcoffset() is not None

    described = sc.describe_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=artifact_id)
    url = described["Info"]["TemplateUrl"]
    assert url == template_url(MLOPS, REGION) and described["Status"] == "AVAILABLE"
    assert described["ProvisioningArtifactDetail"] == artifact
    assert "ProvisioningArtifactParameters" not in described
    # The URL names the template labcloud published in its S3.
    bucket, key = re.match(r"^https://([^.]+)\.s3\.[a-z0-9-]+\.amazonaws\.com/(.+)$", url).groups()
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() == MLOPS.template_text()

    by_name = sc.describe_provisioning_artifact(ProductName=MLOPS.name, ProvisioningArtifactName="v1.0",
                                                IncludeProvisioningArtifactParameters=True)
    assert by_name["Info"]["TemplateUrl"] == url
    parameters = {p["ParameterKey"]: p for p in by_name["ProvisioningArtifactParameters"]}
    assert {"SageMakerProjectName", "SageMakerProjectId"} <= set(parameters)
    assert parameters["SageMakerProjectName"]["ParameterType"] == "String"


def test_describe_the_product_as_a_user_and_as_an_administrator(sc):
    by_id = sc.describe_product(Id=MLOPS.product_id)
    by_name = sc.describe_product(Name=MLOPS.name)
    assert by_id["ProductViewSummary"] == by_name["ProductViewSummary"]
    assert [a["Id"] for a in by_id["ProvisioningArtifacts"]] == [MLOPS.provisioning_artifact_id]
    (launch_path,) = by_id["LaunchPaths"]

    (summary,) = sc.list_launch_paths(ProductId=MLOPS.product_id)["LaunchPathSummaries"]
    assert summary["Id"] == launch_path["Id"] and summary["Name"] == launch_path["Name"]
    assert summary["ConstraintSummaries"][0]["Type"] == "LAUNCH"

    view = sc.describe_product_view(Id=by_id["ProductViewSummary"]["Id"])
    assert view["ProductViewSummary"] == by_id["ProductViewSummary"]

    admin = sc.describe_product_as_admin(Id=MLOPS.product_id)
    assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in admin["Tags"]
    detail = admin["ProductViewDetail"]
    assert detail["Status"] == "AVAILABLE"
    assert detail["ProductARN"] == f"arn:aws:catalog:{REGION}:123456789012:product/{MLOPS.product_id}"
    assert [a["Id"] for a in admin["ProvisioningArtifactSummaries"]] == [MLOPS.provisioning_artifact_id]
    assert sc.describe_product_as_admin(Name=MLOPS.name, SourcePortfolioId=launch_path["Id"])["Tags"] == admin["Tags"]

    searched = sc.search_products_as_admin(PortfolioId=launch_path["Id"])["ProductViewDetails"]
    assert [d["ProductViewSummary"]["ProductId"] for d in searched] == [MLOPS.product_id]
    assert sc.search_products_as_admin(ProductSource="ACCOUNT")["ProductViewDetails"] == []  # shared, not own


# --- what does not exist -----------------------------------------------------------------------------

def test_an_unknown_product_is_resource_not_found_naming_the_templates(sc):
    error = error_of(sc.describe_product, Id="prod-doesnotexist")
    assert error["Code"] == "ResourceNotFoundException"
    assert "prod-doesnotexist" in error["Message"] and MLOPS.product_id in error["Message"]
    assert "SearchProducts" in error["Message"]
    for call, kwargs in [(sc.describe_product_as_admin, {"Id": "prod-doesnotexist"}),
                         (sc.describe_product, {"Name": "No such template"}),
                         (sc.list_provisioning_artifacts, {"ProductId": "prod-doesnotexist"}),
                         (sc.list_launch_paths, {"ProductId": "prod-doesnotexist"}),
                         (sc.describe_product_view, {"Id": "prodview-doesnotexist"}),
                         (sc.describe_provisioning_artifact, {"ProductId": "prod-doesnotexist",
                                                              "ProvisioningArtifactId": "pa-x"}),
                         (sc.search_products_as_admin, {"PortfolioId": "port-doesnotexist"})]:
        assert error_of(call, **kwargs)["Code"] == "ResourceNotFoundException", call


def test_an_unknown_provisioning_artifact_names_the_real_one(sc):
    error = error_of(sc.describe_provisioning_artifact, ProductId=MLOPS.product_id, ProvisioningArtifactId="pa-nope")
    assert error["Code"] == "ResourceNotFoundException"
    assert "pa-nope" in error["Message"] and MLOPS.provisioning_artifact_id in error["Message"]
    error = error_of(sc.describe_provisioning_artifact, ProductId=MLOPS.product_id, ProvisioningArtifactName="v9")
    assert error["Code"] == "ResourceNotFoundException" and "v1.0" in error["Message"]


def test_naming_nothing_is_invalid_parameters(sc):
    error = error_of(sc.describe_product)
    assert error["Code"] == "InvalidParametersException" and "Id" in error["Message"]
    error = error_of(sc.describe_provisioning_artifact, ProductId=MLOPS.product_id)
    assert error["Code"] == "InvalidParametersException" and "ProvisioningArtifactId" in error["Message"]


def test_requests_are_checked_against_the_model(sc_unchecked):
    error = error_of(sc_unchecked.list_provisioning_artifacts)
    assert error["Code"] == "ValidationException"
    assert "Value null at 'productId' failed to satisfy constraint: Member must not be null" in error["Message"]
    error = error_of(sc_unchecked.search_products, PageSize=101, Filters={"Color": ["blue"]})
    assert error["Code"] == "ValidationException" and error["Message"].startswith("2 validation errors detected")
    assert "Member must have value less than or equal to 100" in error["Message"]
    assert "Map keys must satisfy constraint" in error["Message"]


def test_writing_operations_say_the_catalog_is_read_only(sc):
    error = error_of(sc.create_product, Name="mine", Owner="me", ProductType="CLOUD_FORMATION_TEMPLATE",
                     IdempotencyToken="token-1")
    assert error["Code"] == "UnknownOperationException"
    assert "lists only the SageMaker project templates labcloud ships" in error["Message"]
    assert "CreateProject" in error["Message"] and "TemplateProviders" in error["Message"]


# --- the wire, byte by byte --------------------------------------------------------------------------

def post(url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    request = signed_request(url, body, headers=headers, service="servicecatalog")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


CBOR_HEADERS = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}


@pytest.mark.parametrize("path", [
    CBOR_PATH + "DescribeProduct",
    "/v1" + CBOR_PATH + "DescribeProduct",  # a prefix does not change the operation (Smithy)
    "/service/com.amazonaws.servicecatalog.AWS242ServiceCatalogService/operation/DescribeProduct",
])
def test_a_raw_cbor_request(labcloud_server, path):
    status, headers, body = post(labcloud_server.url + path, cbor.encode({"Id": MLOPS.product_id}), CBOR_HEADERS)
    assert status == 200, body
    assert headers["smithy-protocol"] == "rpc-v2-cbor" and headers["content-type"] == "application/cbor"
    assert headers["x-amzn-requestid"] and int(headers["content-length"]) == len(body)
    answer = cbor.decode(body)
    assert answer["ProductViewSummary"]["ProductId"] == MLOPS.product_id
    assert answer["ProvisioningArtifacts"][0]["CreatedTime"].year == 2024  # a tag-1 time
    assert answer["Budgets"] == []


@pytest.mark.parametrize("body, extra, code, words", [
    (b"\xa1\x62Id", {}, "SerializationException", "not valid CBOR"),  # cut short
    (b"\x9f\xff", {}, "SerializationException", "must be a CBOR map"),
    (cbor.encode({"Id": 7}), {}, "SerializationException", "can not be converted to an String"),
    (cbor.encode({"Id": MLOPS.product_id}), {"X-Amz-Target": "AWS242ServiceCatalogService.DescribeProduct"},
     "SerializationException", "must not carry an X-Amz-Target"),
])
def test_a_malformed_cbor_request_is_answered_in_cbor(labcloud_server, body, extra, code, words):
    status, headers, answer = post(labcloud_server.url + CBOR_PATH + "DescribeProduct", body,
                                   {**CBOR_HEADERS, **extra})
    assert status == 400 and headers["smithy-protocol"] == "rpc-v2-cbor"
    error = cbor.decode(answer)
    assert error["__type"] == f"com.amazonaws.servicecatalog#{code}" and words in error["message"]


def test_an_operation_the_model_does_not_have(labcloud_server):
    status, _, answer = post(labcloud_server.url + CBOR_PATH + "Frobnicate", b"", CBOR_HEADERS)
    error = cbor.decode(answer)
    assert status == 400 and error["__type"].endswith("#UnknownOperationException") and "Frobnicate" in error["message"]


def test_a_raw_json_request(labcloud_server):
    status, headers, body = post(labcloud_server.url + "/", json.dumps({"ProductId": MLOPS.product_id}).encode(),
                                 {"X-Amz-Target": "AWS242ServiceCatalogService.ListProvisioningArtifacts",
                                  "Content-Type": "application/x-amz-json-1.1"})
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.1"
    (artifact,) = json.loads(body)["ProvisioningArtifactDetails"]
    assert artifact["Id"] == MLOPS.provisioning_artifact_id and isinstance(artifact["CreatedTime"], float)


def test_a_failure_inside_an_operation_is_an_internal_failure_in_cbor():
    ctx = types.SimpleNamespace(store_for=lambda root: None, region=REGION, account_id="123456789012")
    service = SERVICE.factory(ctx, SERVICE)

    def broken(params):
        raise RuntimeError("a bug")

    service.operations["SearchProducts"] = broken
    status, headers, body = service.dispatch_cbor("SearchProducts", b"\xa0")
    error = cbor.decode(body)
    assert status == 500 and headers["smithy-protocol"] == "rpc-v2-cbor"
    assert error["__type"].endswith("#InternalFailure") and "a bug" not in error["message"]
    assert "SearchProducts" in error["message"]


def test_routes_claim_only_service_catalog_operation_paths():
    routes = SERVICE.routes
    assert routes.rest_match("POST", CBOR_PATH + "SearchProducts", "servicecatalog")["operation"] == "SearchProducts"
    assert routes.rest_match("POST", CBOR_PATH + "SearchProducts", None) is not None  # unsigned
    assert routes.rest_match("GET", CBOR_PATH + "SearchProducts", None) is None
    assert routes.rest_match("POST", CBOR_PATH + "SearchProducts", "s3") is None
    assert routes.rest_match("POST", "/service/OtherService/operation/SearchProducts", None) is None
    assert routes.rest_match("POST", CBOR_PATH + "com.amazonaws.servicecatalog#SearchProducts", None) is None


def test_health_and_status_list_the_catalog(labcloud_server):
    with urllib.request.urlopen(labcloud_server.url + "/_localstack/health", timeout=10) as response:
        assert json.loads(response.read())["services"]["servicecatalog"] == "running"
    status = urllib.request.Request(labcloud_server.url + "/_labcloud/status", headers=bearer())
    with urllib.request.urlopen(status, timeout=10) as response:
        assert json.loads(response.read())["servicecatalog_products"] == [MLOPS.product_id]


# --- handing the ids to SageMaker --------------------------------------------------------------------

def test_the_ids_create_a_sagemaker_project(labcloud_server, sm):
    product_id, artifact_id = find_mlops(boto3.client("servicecatalog"))
    details = {"ProductId": product_id, "ProvisioningArtifactId": artifact_id}
    try:
        created = sm.create_project(ProjectName="sc-demo", ServiceCatalogProvisioningDetails=details)
    except ClientError as err:
        if err.response["Error"]["Code"] == "UnknownOperationException":
            pytest.skip("labcloud's SageMaker does not serve CreateProject yet (services/sagemaker/operations.py)")
        raise
    try:
        assert created["ProjectId"] and created["ProjectArn"].endswith("/sc-demo")
        described = sm.describe_project(ProjectName="sc-demo")
        assert described["ServiceCatalogProvisioningDetails"]["ProductId"] == product_id
        assert described["ServiceCatalogProvisioningDetails"]["ProvisioningArtifactId"] == artifact_id
    finally:
        try:
            sm.delete_project(ProjectName="sc-demo")
        except ClientError:
            pass  # its provisioning may still be under way or have failed: the session's server goes anyway
