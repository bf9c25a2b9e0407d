"""CheckpointSync mirrors the local checkpoint folder to S3: new and changed files are uploaded, files it
knew and that are gone are deleted (as SageMaker does), and nothing else under the prefix is touched.
S3 is moto's, in this process."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from labcloud.core.constants import REGION
from labcloud.runtime.training.checkpoints import CheckpointSync, restore

BUCKET = "checkpoints"
URI = f"s3://{BUCKET}/job/ckpt"


@pytest.fixture
def s3():
    with mock_aws():
        # An explicit AWS endpoint: moto answers only AWS's hosts, and a labcloud another test started may
        # have set AWS_ENDPOINT_URL for this process.
        client = boto3.client("s3", region_name=REGION, endpoint_url=f"https://s3.{REGION}.amazonaws.com",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_a_file_deleted_locally_is_deleted_in_s3_at_the_next_sync(s3, tmp_path):
    sync = CheckpointSync(s3, URI, tmp_path)
    sync.mark_restored({})
    (tmp_path / "a.pt").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.pt").write_text("b")
    assert sync.sync() == 2
    assert keys(s3) == ["job/ckpt/a.pt", "job/ckpt/sub/b.pt"]
    (tmp_path / "sub" / "b.pt").unlink()
    sync.sync()
    assert keys(s3) == ["job/ckpt/a.pt"]
    assert sync.deletions == 1


def test_a_restored_file_then_deleted_is_deleted_in_s3(s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="job/ckpt/epoch-1.pt", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="job/ckpt/epoch-2.pt", Body=b"2")
    restored = restore(s3, URI, tmp_path)
    assert restored == {"epoch-1.pt": "job/ckpt/epoch-1.pt", "epoch-2.pt": "job/ckpt/epoch-2.pt"}
    sync = CheckpointSync(s3, URI, tmp_path)
    sync.mark_restored(restored)
    (tmp_path / "epoch-1.pt").unlink()  # the script keeps only its newest checkpoint
    assert sync.sync() == 0  # nothing new: the restored file that is left is not uploaded again
    assert keys(s3) == ["job/ckpt/epoch-2.pt"]


def test_objects_the_sync_never_saw_are_left_alone(s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="job/ckpt/state.json", Body=b"{}")
    # A file already in the local folder that did not come from S3 (a LocalPath outside /opt/ml keeps
    # files between jobs): the sync never saw an object for it.
    (tmp_path / "leftover.json").write_text("old")
    restored = restore(s3, URI, tmp_path)
    sync = CheckpointSync(s3, URI, tmp_path)
    sync.mark_restored(restored)
    # Written by someone else after the restore: one under a name never in the folder, one under the
    # leftover's name.
    s3.put_object(Bucket=BUCKET, Key="job/ckpt/other.json", Body=b"theirs")
    s3.put_object(Bucket=BUCKET, Key="job/ckpt/leftover.json", Body=b"theirs")
    (tmp_path / "state.json").unlink()
    (tmp_path / "leftover.json").unlink()
    sync.sync()
    assert keys(s3) == ["job/ckpt/leftover.json", "job/ckpt/other.json"]
    assert s3.get_object(Bucket=BUCKET, Key="job/ckpt/leftover.json")["Body"].read() == b"theirs"


def test_a_deletion_alone_does_not_call_on_checkpoint(s3, tmp_path):
    calls = []
    sync = CheckpointSync(s3, URI, tmp_path, on_checkpoint=lambda: calls.append(1))
    sync.mark_restored({})
    (tmp_path / "state.json").write_text("1")
    assert sync.sync() == 1 and calls == [1]
    (tmp_path / "state.json").unlink()
    assert sync.sync() == 0
    assert keys(s3) == []
    assert calls == [1]


class FailingDeletes:
    """The S3 client, but its first `failures` DeleteObject calls fail."""

    def __init__(self, s3, failures: int):
        self.s3, self.failures = s3, failures

    def delete_object(self, **params):
        if self.failures:
            self.failures -= 1
            raise OSError("connection reset")
        return self.s3.delete_object(**params)

    def __getattr__(self, name):
        return getattr(self.s3, name)


def test_a_failed_deletion_is_tried_again_at_the_next_sync(s3, tmp_path):
    sync = CheckpointSync(FailingDeletes(s3, failures=1), URI, tmp_path)
    sync.mark_restored({})
    (tmp_path / "state.json").write_text("1")
    sync.sync()
    (tmp_path / "state.json").unlink()
    sync.sync()
    assert keys(s3) == ["job/ckpt/state.json"]
    sync.sync()
    assert keys(s3) == []


def test_a_file_missing_from_a_look_but_still_there_is_not_deleted(s3, tmp_path, monkeypatch):
    sync = CheckpointSync(s3, URI, tmp_path)
    sync.mark_restored({})
    (tmp_path / "state.json").write_text("1")
    sync.sync()
    # A folder the walk could not enter (rglob skips what it may not read) hides the file from one look.
    monkeypatch.setattr(sync, "_snapshot", lambda: {})
    sync.sync()
    assert keys(s3) == ["job/ckpt/state.json"]
