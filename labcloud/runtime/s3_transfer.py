"""Small S3 helpers the training runtime shares: split URIs, download a prefix, upload a folder."""

from __future__ import annotations

import tarfile
from pathlib import Path


class UnsafeKeyError(ValueError):
    """An S3 key that would be written outside the folder it is downloaded into."""


def local_target(dest: Path, relative: str, key: str) -> Path:
    """dest/relative, refusing keys with '..' parts or a leading '/' that would leave dest."""
    target = dest / relative
    if not target.resolve().is_relative_to(dest.resolve()):
        raise UnsafeKeyError(f"ClientError: the S3 object key {key!r} leads outside the folder it is "
                             f"downloaded to; rename it without '..' parts or a leading '/'.")
    return target


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def join_key(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/")] + [p.strip("/") for p in parts]) if prefix else "/".join(parts)


def list_keys(s3, bucket: str, prefix: str) -> list[dict]:
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return objects


def download_prefix(s3, uri: str, dest: Path) -> int:
    """Copy every object under the S3 prefix `uri` into `dest`, keeping key suffixes. Returns the count.

    As in SageMaker's File mode, `s3://b/data/train` matches `data/train/x.csv` (kept as `x.csv`) and
    `data/train.csv` (kept as `train.csv`): keys below a folder keep their path inside it.
    """
    return len(download_objects(s3, uri, dest))


def download_objects(s3, uri: str, dest: Path) -> dict[str, str]:
    """download_prefix(), returning what it wrote: {path inside dest, '/'-separated: the object's key}."""
    bucket, prefix = split_s3_uri(uri)
    directory = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    written = {}
    for obj in list_keys(s3, bucket, prefix):
        key = obj["Key"]
        if key.endswith("/"):
            continue
        rest = key[len(prefix):]
        # A prefix that ends at a folder boundary drops the folder; otherwise keep the file's own name.
        relative = rest.lstrip("/") if (prefix.endswith("/") or rest.startswith("/")) else key[len(directory):]
        target = local_target(dest, relative, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
        written[target.relative_to(dest).as_posix()] = key
    return written


class DownloadError(Exception):
    """An S3 object could not be fetched; the message is the S3 client's."""


def download_archive(s3, uri: str, target: Path) -> None:
    """Fetch the tar.gz at `uri` and extract it into `target`; no member may land outside it.

    Raises DownloadError if the object cannot be fetched and tarfile.TarError if it is no tar archive."""
    bucket, key = split_s3_uri(uri)
    target.mkdir(parents=True, exist_ok=True)
    archive = target.parent / (target.name + ".tar.gz")
    try:
        try:
            s3.download_file(bucket, key, str(archive))
        except Exception as err:
            raise DownloadError(str(err)) from None
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    finally:
        archive.unlink(missing_ok=True)


def upload_file(s3, path: Path, uri: str) -> None:
    bucket, key = split_s3_uri(uri)
    s3.upload_file(str(path), bucket, key)
