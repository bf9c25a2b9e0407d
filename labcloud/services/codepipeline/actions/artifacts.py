"""Pipeline artifacts: zips in the artifact store bucket, as CodePipeline keeps them.

An output artifact is the object `<pipeline name, first 20 characters>/<artifact name, first 10>/<7
random characters>` (CodePipeline truncates both names, which its troubleshooting guide explains), so
two executions never share a zip: a newer execution cannot mix its artifacts with an older one's.
"""

from __future__ import annotations

import io
import secrets
import string
import zipfile

from labcloud.services.codepipeline.actions.base import ActionFailed

_ALPHABET = string.ascii_letters + string.digits


def new_location(bucket: str, pipeline: str, artifact: str) -> dict:
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(7))
    return {"bucket": bucket, "key": f"{pipeline[:20]}/{artifact[:10]}/{suffix}"}


def split_reference(reference: str, what: str) -> tuple[str, str]:
    """'ArtifactName::path/in/zip' -> (artifact name, path)."""
    artifact, sep, path = reference.partition("::")
    if not sep or not artifact or not path:
        raise ActionFailed(f"{what} {reference!r} is not of the form ArtifactName::path/in/artifact "
                           f"(e.g. BuildArtifact::template.yml).", code="ConfigurationError")
    return artifact, path


def read_zip(clients, location: dict, artifact: str) -> zipfile.ZipFile:
    try:
        body = clients("s3").get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    except Exception as err:  # noqa: BLE001 - botocore's ClientError: the object is gone
        raise ActionFailed(f"Could not read the input artifact {artifact} from "
                           f"s3://{location['bucket']}/{location['key']}: {err}") from None
    try:
        return zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile:
        raise ActionFailed(f"The input artifact {artifact} (s3://{location['bucket']}/{location['key']}) "
                           f"is not a zip file.") from None


def read_member(clients, inputs: dict[str, dict], reference: str, what: str) -> str:
    """The text of 'Artifact::path' in one of the action's input artifacts."""
    artifact, path = split_reference(reference, what)
    if artifact not in inputs:
        raise ActionFailed(f"{what} {reference!r} names the artifact {artifact}, which is not an input artifact "
                           f"of this action; add it to inputArtifacts. Inputs: {sorted(inputs) or 'none'}.",
                           code="ConfigurationError")
    archive = read_zip(clients, inputs[artifact], artifact)
    name = path.lstrip("./")
    try:
        data = archive.read(name)
    except KeyError:
        raise ActionFailed(f"File {path} does not exist in artifact {artifact}. Files there: "
                           f"{', '.join(sorted(archive.namelist())[:20]) or 'none'}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionFailed(f"File {path} in artifact {artifact} is not UTF-8 text.") from None


def write_zip(clients, location: dict, files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    clients("s3").put_object(Bucket=location["bucket"], Key=location["key"], Body=buffer.getvalue())
