"""Only the user who runs labcloud can use it (issue 15): requests are checked as AWS checks SigV4, against
credentials labcloud issues per user; everyone else gets AWS's own error codes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.auth
import localstack_client.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from labcloud.core.credentials import FILE, config_dir, user_credentials
from tests.support.git import git


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"]


def clients(**arguments):
    return {name: boto3.client(name, **arguments) for name in ("s3", "sagemaker", "iam", "sts")}


def test_unsigned_requests_are_refused_in_each_protocols_terms(labcloud_server):
    unsigned = clients(config=Config(signature_version=UNSIGNED))
    assert code_of(unsigned["s3"].list_buckets) == "AccessDenied"
    assert code_of(unsigned["sagemaker"].list_models) == "MissingAuthenticationTokenException"
    assert code_of(unsigned["iam"].list_roles) == "MissingAuthenticationToken"


def test_a_wrong_secret_is_a_signature_mismatch(labcloud_server):
    wrong = clients(aws_access_key_id=user_credentials().access_key_id, aws_secret_access_key="not-the-secret")
    assert code_of(wrong["s3"].list_buckets) == "SignatureDoesNotMatch"
    assert code_of(wrong["sagemaker"].list_models) == "InvalidSignatureException"
    assert code_of(wrong["sts"].get_caller_identity) == "SignatureDoesNotMatch"


def test_another_access_key_is_unknown(labcloud_server):
    stranger = clients(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    assert code_of(stranger["s3"].list_buckets) == "InvalidAccessKeyId"
    assert code_of(stranger["sagemaker"].list_models) == "UnrecognizedClientException"
    assert code_of(stranger["iam"].list_roles) == "InvalidClientTokenId"
    # localstack-client's own default credentials are somebody else's too; labcloud.credentials() are ours.
    assert code_of(localstack_client.session.Session().client("s3").list_buckets) == "InvalidAccessKeyId"


def test_a_signature_from_long_ago_is_refused(labcloud_server, monkeypatch):
    long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: long_ago)
    assert code_of(boto3.client("s3").list_buckets) == "RequestTimeTooSkewed"
    with pytest.raises(ClientError) as info:
        boto3.client("sagemaker").list_models()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "Signature expired" in info.value.response["Error"]["Message"]


def test_presigned_urls_of_both_versions_work_and_a_changed_one_does_not(labcloud_server, s3):
    s3.create_bucket(Bucket="presigned-bucket")
    s3.put_object(Bucket="presigned-bucket", Key="report.csv", Body=b"a,b\n")
    v4 = boto3.client("s3", config=Config(signature_version="s3v4"))
    for client in (s3, v4):
        url = client.generate_presigned_url("get_object", Params={"Bucket": "presigned-bucket", "Key": "report.csv"})
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == b"a,b\n"
        with pytest.raises(urllib.error.HTTPError) as refused:  # another key under the same signature
            urllib.request.urlopen(url.replace("report.csv", "other.csv"), timeout=10)
        assert refused.value.code == 403 and b"SignatureDoesNotMatch" in refused.value.read()
    short = v4.generate_presigned_url("get_object", Params={"Bucket": "presigned-bucket", "Key": "report.csv"},
                                      ExpiresIn=1)
    time.sleep(2)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(short, timeout=10)
    assert expired.value.code == 403 and b"Request has expired" in expired.value.read()


def test_git_without_labcloud_credentials_is_refused(labcloud_server, tmp_path):
    boto3.client("codecommit").create_repository(repositoryName="private-repo")
    url = f"{labcloud_server.url}/v1/repos/private-repo"
    refused = git("clone", url, str(tmp_path / "refused"), check=False, env={"GIT_CONFIG_COUNT": "0"})
    assert refused.returncode != 0 and "could not read Username" in refused.stderr, refused.stderr  # git asks
    wrong = git("clone", url, str(tmp_path / "wrong"), check=False, env={
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{labcloud_server.url}/.extraHeader",
        "GIT_CONFIG_VALUE_0": "Authorization: Basic " + base64.b64encode(b"LKIAOTHER:guess").decode()})
    assert wrong.returncode != 0 and "could not read Username" in wrong.stderr, wrong.stderr  # refused: git asks
    git("clone", url, str(tmp_path / "mine"))  # with what labcloud gives git (client_environment)


def test_status_is_for_the_owner_only(labcloud_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{labcloud_server.url}/_labcloud/status", timeout=10)
    assert refused.value.code == 403 and "pid" not in json.loads(refused.value.read())


def test_the_credentials_file_is_private(labcloud_server):
    user_credentials()
    assert stat.S_IMODE((config_dir() / FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir().stat().st_mode) & 0o077 == 0


def test_labcloud_env_configures_a_shell(labcloud_server):
    script = (f'eval "$({sys.executable} -m labcloud env --port {labcloud_server.port})" && '
              f'{sys.executable} -c "import boto3; print(boto3.client(\'sts\').get_caller_identity()[\'Account\'])"')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(["bash", "-c", script], env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "123456789012", result.stderr


def test_the_aws_cli_configured_by_labcloud_env_works(labcloud_server):
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli, or AWS's installer)")
    environment = json.loads(subprocess.run([sys.executable, "-m", "labcloud", "env", "--json", "--port",
                                             str(labcloud_server.port)], capture_output=True, text=True,
                                            check=True).stdout)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    mine = subprocess.run([aws, "sts", "get-caller-identity"], env={**clean, **environment},
                          capture_output=True, text=True, timeout=120)
    assert mine.returncode == 0 and json.loads(mine.stdout)["Account"] == "123456789012", mine.stderr
    wrong = subprocess.run([aws, "sts", "get-caller-identity"], capture_output=True, text=True, timeout=120,
                           env={**clean, **environment, "AWS_SECRET_ACCESS_KEY": "wrong"})
    assert wrong.returncode != 0 and "SignatureDoesNotMatch" in wrong.stderr


def test_another_users_labcloud_start_gets_a_labcloud_of_its_own(labcloud_server, tmp_path):
    other = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    other.update({"XDG_CONFIG_HOME": str(tmp_path / "other-user"), "LABCLOUD_PORT": str(labcloud_server.port)})
    script = ("import boto3, labcloud; url = labcloud.start(quiet=True); print(url); "
              "print(len(boto3.client('s3').list_buckets()['Buckets']) >= 0); labcloud.stop()")
    result = subprocess.run([sys.executable, "-c", script], env=other, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    url, listed = result.stdout.split()
    assert url != labcloud_server.url and listed == "True"


def test_a_shared_server_can_opt_out(in_process):
    in_process(state_dir=None, authenticate=False)
    unsigned = boto3.client("s3", config=Config(signature_version=UNSIGNED))
    unsigned.create_bucket(Bucket="open-to-all")
    assert "open-to-all" in [b["Name"] for b in unsigned.list_buckets()["Buckets"]]


def test_kubectl_configured_by_labcloud_works_and_a_wrong_token_is_refused(labcloud_server, tmp_path):
    import yaml

    from labcloud.client import kubeconfig
    from tests.support.kubectl import Kubectl

    good = kubeconfig.write(tmp_path / "good", labcloud_server.url)
    assert (good.stat().st_mode & 0o777) == 0o600  # it carries the token
    listed = Kubectl(good).run("get", "trainingjobs", "-o", "name")
    assert listed.returncode == 0

    config = yaml.safe_load(good.read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    (tmp_path / "wrong").write_text(yaml.safe_dump(config))
    refused = Kubectl(tmp_path / "wrong").run("get", "trainingjobs", check=False)
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr, refused.stderr

    # Without the CA the server's certificate is not trusted: kubectl refuses to talk to it.
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    config["users"][0]["user"]["token"] = user_credentials().token
    (tmp_path / "no-ca").write_text(yaml.safe_dump(config))
    untrusted = Kubectl(tmp_path / "no-ca").run("get", "trainingjobs", check=False)
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr, untrusted.stderr


def test_the_kubernetes_api_refuses_requests_without_the_bearer_token(labcloud_server):
    url = f"{labcloud_server.url}/k8s/apis/sagemaker.services.k8s.aws/v1alpha1/namespaces/default/trainingjobs"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        assert refused.value.code == 401
        assert json.loads(refused.value.read())["reason"] == "Unauthorized"
    allowed = urllib.request.Request(url, headers={"Authorization": f"Bearer {user_credentials().token}"})
    with urllib.request.urlopen(allowed, timeout=10) as answer:
        assert json.loads(answer.read())["kind"] == "TrainingJobList"
