"""Which files a buildspec's `artifacts` section selects, the names they get, and where they go in S3."""

from __future__ import annotations

import zipfile

import pytest

from labcloud.services.codebuild.builds.artifacts import (ArtifactError, destination, expand, expanded, select,
                                                          upload, write_zip)
from labcloud.services.codebuild.builds.buildspec import ArtifactsSpec


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    for path in ("README.md", "run.py", ".env", "dist/model.tar.gz", "dist/config/staging.json",
                 "dist/config/prod.json", "dist/tmp/scratch.tmp", "tests/test_run.py"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(path)
    return root


def names(files):
    return [name for _, name in files]


def test_double_star_selects_every_file_dot_files_too(src):
    assert names(select(src, ArtifactsSpec(files=["**/*"]))) == [
        ".env", "README.md", "dist/config/prod.json", "dist/config/staging.json", "dist/model.tar.gz",
        "dist/tmp/scratch.tmp", "run.py", "tests/test_run.py"]


def test_a_single_star_stays_in_its_folder_and_a_literal_folder_takes_what_is_below(src):
    assert names(select(src, ArtifactsSpec(files=["*.py"]))) == ["run.py"]
    assert names(select(src, ArtifactsSpec(files=["dist/config"]))) == ["dist/config/prod.json",
                                                                        "dist/config/staging.json"]
    assert names(select(src, ArtifactsSpec(files=["**/*.json", "README.md"]))) == [
        "README.md", "dist/config/prod.json", "dist/config/staging.json"]


def test_base_directory_exclude_paths_and_discard_paths(src):
    spec = ArtifactsSpec(files=["**/*"], base_directory="dist", exclude_paths=["tmp/**/*"])
    assert names(select(src, spec)) == ["config/prod.json", "config/staging.json", "model.tar.gz"]
    spec = ArtifactsSpec(files=["config/*"], base_directory="./dist", discard_paths=True)
    files = select(src, spec)
    assert names(files) == ["prod.json", "staging.json"]
    assert files[0][0] == src / "dist" / "config" / "prod.json"


@pytest.mark.parametrize("spec, words", [
    (ArtifactsSpec(files=["*.whl"]), "no matching artifact paths found"),
    (ArtifactsSpec(files=["**/*"], base_directory="build"), "no matching base directory path found for build"),
    (ArtifactsSpec(files=["../secrets/*"]), "leads outside the base directory"),
    (ArtifactsSpec(files=["/etc/passwd"]), "leads outside the base directory"),
])
def test_what_selects_nothing_is_a_client_error(src, spec, words):
    with pytest.raises(ArtifactError) as err:
        select(src, spec)
    assert words in str(err.value)


def test_the_zip_keeps_paths_and_modes(src, tmp_path):
    (src / "run.py").chmod(0o755)
    write_zip(select(src, ArtifactsSpec(files=["run.py", "dist/**/*.json"])), tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.namelist() == ["dist/config/prod.json", "dist/config/staging.json", "run.py"]
        assert archive.read("run.py") == b"run.py"
        assert (archive.getinfo("run.py").external_attr >> 16) & 0o777 == 0o755


def test_destinations_follow_path_namespace_and_name():
    zipped = {"type": "S3", "location": "bucket", "path": "pipeline/BuildArtif", "name": "Xyz12",
              "packaging": "ZIP", "namespaceType": "NONE"}
    dest = destination(zipped, "uuid-1")
    assert (dest.bucket, dest.key, dest.packaging) == ("bucket", "pipeline/BuildArtif/Xyz12", "ZIP")
    assert dest.location == "arn:aws:s3:::bucket/pipeline/BuildArtif/Xyz12"
    by_build = {"type": "S3", "location": "bucket", "name": "out", "namespaceType": "BUILD_ID"}
    assert destination(by_build, "uuid-1").key == "uuid-1/out"
    assert destination(by_build, "uuid-1").packaging == "NONE"
    renamed = {**by_build, "overrideArtifactName": True}
    assert destination(renamed, "uuid-1", "model-7").key == "uuid-1/model-7"
    assert destination(by_build, "uuid-1", "model-7").key == "uuid-1/out"  # only with overrideArtifactName
    assert destination({"type": "NO_ARTIFACTS"}, "uuid-1") is None
    assert expand("model-$STAGE-${BUILD}", {"STAGE": "prod", "BUILD": "7"}) == "model-prod-7"


def test_variables_in_paths_are_the_builds_own(src):
    spec = expanded(ArtifactsSpec(files=["${RESULTS}"], base_directory="$OUT", name="n-$STAGE"),
                    {"RESULTS": "config/*.json", "OUT": "dist", "STAGE": "prod"})
    assert names(select(src, spec)) == ["config/prod.json", "config/staging.json"] and spec.name == "n-prod"


class RecordingS3:
    def __init__(self):
        self.uploads = []

    def upload_file(self, path, bucket, key):
        self.uploads.append((bucket, key, open(path, "rb").read()))


def test_packaging_none_uploads_each_file_below_the_prefix(src, tmp_path):
    s3 = RecordingS3()
    files = select(src, ArtifactsSpec(files=["config/*"], base_directory="dist"))
    answer = upload(s3, files, destination({"type": "S3", "location": "b", "path": "p", "name": "n"}, "u"), tmp_path)
    assert answer == {"location": "arn:aws:s3:::b/p/n"}
    assert [(b, k) for b, k, _ in s3.uploads] == [("b", "p/n/config/prod.json"), ("b", "p/n/config/staging.json")]
    answer = upload(s3, files, destination({"type": "S3", "location": "b", "name": "a.zip", "packaging": "ZIP"}, "u"),
                    tmp_path)
    assert answer["location"] == "arn:aws:s3:::b/a.zip" and len(answer["sha256sum"]) == 64
