"""The journal makes moto's services durable: what succeeded and changed state is replayed."""

import json
import struct
import time
import urllib.request

import boto3
import pytest

from labcloud.persistence.journal import MARK, read_records
from tests.support.signing import bearer, signed_headers


def test_s3_objects_and_logs_survive_a_restart(in_process):
    server = in_process()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="journal-bucket")
    s3.put_object(Bucket="journal-bucket", Key="a/b.csv", Body=b"1,2,3\n")
    s3.put_object(Bucket="journal-bucket", Key="gone", Body=b"x")
    s3.delete_object(Bucket="journal-bucket", Key="gone")
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/test/group")
    logs.create_log_stream(logGroupName="/test/group", logStreamName="s")
    logs.put_log_events(logGroupName="/test/group", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
    server.stop()

    in_process()
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket="journal-bucket", Key="a/b.csv")["Body"].read() == b"1,2,3\n"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="journal-bucket")["Contents"]]
    assert keys == ["a/b.csv"]
    events = boto3.client("logs").get_log_events(logGroupName="/test/group", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["hello"]


def test_reads_and_failures_are_not_journaled(in_process, tmp_path):
    server = in_process()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="quiet-bucket")
    before = len(list(read_records(server.registry.service("moto").journal.path)))
    s3.list_objects_v2(Bucket="quiet-bucket")
    boto3.client("sts").get_caller_identity()
    with pytest.raises(Exception):
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert len(list(read_records(server.registry.service("moto").journal.path))) == before


def test_a_record_cut_short_by_a_crash_is_ignored(in_process):
    server = in_process()
    boto3.client("s3").create_bucket(Bucket="torn-bucket")
    path = server.registry.service("moto").journal.path
    server.stop()
    with open(path, "ab") as f:
        f.write(MARK + b"\x00\x00\x01")  # half a record's prefix, as a kill -9 might leave
    server = in_process()
    s3 = boto3.client("s3")
    assert "torn-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # What is written after the crash is read back too: the torn tail was cut before appending.
    s3.create_bucket(Bucket="after-the-crash")
    server.stop()
    in_process()
    names = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert "torn-bucket" in names and "after-the-crash" in names
    assert server.ctx.damage.findings() == []  # a torn tail is no damage: its request was never answered


def test_a_flipped_byte_costs_only_its_record_and_is_reported(in_process):
    server = in_process()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="flip-bucket")
    for n in range(20):
        s3.put_object(Bucket="flip-bucket", Key=f"k{n:02}", Body=f"body {n}".encode() * 50)
    path = server.registry.service("moto").journal.path
    server.stop()
    data = bytearray(path.read_bytes())
    spot = data.index(b"body 7body 7")  # inside the record of k07
    data[spot] ^= 0xFF
    path.write_bytes(bytes(data))

    server = in_process()
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="flip-bucket")["Contents"]]
    assert keys == [f"k{n:02}" for n in range(20) if n != 7]
    findings = server.ctx.damage.findings()
    assert len(findings) == 1 and "checksum" in findings[0]["problem"], findings
    kept = findings[0]["kept_at"]
    assert b"body 7" in open(kept, "rb").read()
    status = json.loads(urllib.request.urlopen(urllib.request.Request(f"{server.url}/_labcloud/status",
                                                                      headers=bearer()), timeout=10).read())
    assert status["damaged_state"] == findings
    server.stop()
    in_process()  # repaired: the damage is reported once, not at every start
    assert len(boto3.client("s3").list_objects_v2(Bucket="flip-bucket")["Contents"]) == 19


def test_a_journal_of_the_first_format_is_read_and_rewritten(in_process, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    header = json.dumps({"method": "PUT", "path": "/legacy-bucket", "query": "",
                         "headers": {"HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION":
                                     "AWS4-HMAC-SHA256 Credential=labcloud/20260101/us-east-1/s3/aws4_request, "
                                     "SignedHeaders=host, Signature=0"}}).encode()
    (state / "moto-journal.bin").write_bytes(struct.pack(">II", len(header), 0) + header)
    server = in_process()
    assert "legacy-bucket" in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    # The legacy record comes first, in the new format, with what start-up added after it.
    assert next(read_records(server.registry.service("moto").journal.path))[0]["path"] == "/legacy-bucket"


def test_an_empty_or_unreadable_record_file_is_skipped_and_reported(in_process, tmp_path):
    server = in_process()
    sm = boto3.client("sagemaker")
    for name in ("kept-group", "empty-group", "broken-group"):
        sm.create_model_package_group(ModelPackageGroupName=name)
    server.stop()
    folder = next((tmp_path / "state").rglob("empty-group.json")).parent
    (folder / "empty-group.json").write_bytes(b"")
    (folder / "broken-group.json").write_text('{"ModelPackageGroupName": "broken-gr')

    server = in_process()
    names = [g["ModelPackageGroupName"] for g in
             boto3.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]]
    assert names == ["kept-group"]
    problems = {f["where"].rsplit("/", 1)[-1]: f for f in server.ctx.damage.findings()}
    assert problems["empty-group"]["problem"].startswith("empty record file")
    assert problems["broken-group"]["problem"].startswith("unreadable record file")
    assert (folder / "broken-group.json.damaged").read_text().startswith('{"ModelPackageGroupName"')


def test_multipart_uploads_replay(in_process):
    server = in_process()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="multi-bucket")
    upload = s3.create_multipart_upload(Bucket="multi-bucket", Key="big")
    part = b"a" * (5 * 1024 * 1024)
    etag1 = s3.upload_part(Bucket="multi-bucket", Key="big", UploadId=upload["UploadId"], PartNumber=1,
                           Body=part)["ETag"]
    etag2 = s3.upload_part(Bucket="multi-bucket", Key="big", UploadId=upload["UploadId"], PartNumber=2,
                           Body=b"tail")["ETag"]
    s3.complete_multipart_upload(Bucket="multi-bucket", Key="big", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1},
                                                            {"PartNumber": 2, "ETag": etag2}]})
    server.stop()
    in_process()
    body = boto3.client("s3").get_object(Bucket="multi-bucket", Key="big")["Body"].read()
    assert body == part + b"tail"


def test_a_chunked_upload_is_stored_and_journaled_whole(in_process):
    import http.client
    import urllib.parse

    server = in_process()
    boto3.client("s3").create_bucket(Bucket="chunked-bucket")
    host = urllib.parse.urlparse(server.url).netloc
    conn = http.client.HTTPConnection(host, timeout=10)
    # Streamed with no Content-Length, as `curl -T -` or a generator body in requests would send it.
    conn.request("PUT", "/chunked-bucket/streamed.txt", body=iter([b"hello ", b"world"]),
                 headers=signed_headers("PUT", f"{server.url}/chunked-bucket/streamed.txt", b"",
                                        {"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}, service="s3"))
    assert conn.getresponse().status == 200
    conn.close()
    assert boto3.client("s3").get_object(Bucket="chunked-bucket", Key="streamed.txt")["Body"].read() == b"hello world"
    server.stop()
    in_process()
    assert boto3.client("s3").get_object(Bucket="chunked-bucket", Key="streamed.txt")["Body"].read() == b"hello world"


def test_ids_and_times_a_client_saw_are_the_same_after_a_restart(in_process):
    server = in_process()
    s3, iam = boto3.client("s3"), boto3.client("iam")
    s3.create_bucket(Bucket="ids-bucket")
    s3.put_bucket_versioning(Bucket="ids-bucket", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="ids-bucket", Key="k", Body=b"one")
    second = s3.put_object(Bucket="ids-bucket", Key="k", Body=b"two")
    seen = s3.head_object(Bucket="ids-bucket", Key="k")
    role = iam.create_role(RoleName="ids-role", AssumeRolePolicyDocument="{}")["Role"]
    upload = s3.create_multipart_upload(Bucket="ids-bucket", Key="big")["UploadId"]
    part1 = s3.upload_part(Bucket="ids-bucket", Key="big", UploadId=upload, PartNumber=1,
                           Body=b"a" * (5 * 1024 * 1024))["ETag"]
    server.stop()

    in_process()
    s3, iam = boto3.client("s3"), boto3.client("iam")
    old = s3.get_object(Bucket="ids-bucket", Key="k", VersionId=first["VersionId"])
    assert old["Body"].read() == b"one" and old["ETag"] == first["ETag"]
    again = s3.head_object(Bucket="ids-bucket", Key="k")
    assert (again["VersionId"], again["ETag"], again["LastModified"]) == (
        second["VersionId"], second["ETag"], seen["LastModified"])
    assert iam.get_role(RoleName="ids-role")["Role"]["RoleId"] == role["RoleId"]
    assert iam.get_role(RoleName="ids-role")["Role"]["CreateDate"] == role["CreateDate"]
    # The upload in flight goes on with the id the client holds.
    part2 = s3.upload_part(Bucket="ids-bucket", Key="big", UploadId=upload, PartNumber=2, Body=b"end")["ETag"]
    s3.complete_multipart_upload(Bucket="ids-bucket", Key="big", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part1}, {"PartNumber": 2, "ETag": part2}]})
    assert s3.get_object(Bucket="ids-bucket", Key="big")["ContentLength"] == 5 * 1024 * 1024 + 3


def everything_seen(s3, iam, logs, sqs):
    """What a client can read back of the state the workload below makes."""
    versions = s3.list_object_versions(Bucket="snap-bucket")
    return {
        "versions": [(v["Key"], v["VersionId"], v["ETag"], v["LastModified"]) for v in versions.get("Versions", [])],
        "markers": [(m["Key"], m["VersionId"]) for m in versions.get("DeleteMarkers", [])],
        "uploads": [(u["Key"], u["UploadId"]) for u in s3.list_multipart_uploads(Bucket="snap-bucket").get("Uploads", [])],
        "role": iam.get_role(RoleName="snap-role")["Role"],
        "policies": iam.list_role_policies(RoleName="snap-role")["PolicyNames"],
        "events": [(e["timestamp"], e["message"]) for e in
                   logs.get_log_events(logGroupName="/snap", logStreamName="s")["events"]],
        "queue": sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="snap-queue")["QueueUrl"],
                                          AttributeNames=["QueueArn", "CreatedTimestamp"])["Attributes"],
    }


def clients():
    return boto3.client("s3"), boto3.client("iam"), boto3.client("logs"), boto3.client("sqs")


def test_a_start_from_the_snapshot_sees_what_a_start_from_the_whole_journal_sees(in_process, tmp_path):
    from labcloud.services.moto import snapshot

    server = in_process()
    s3, iam, logs, sqs = clients()
    s3.create_bucket(Bucket="snap-bucket")
    s3.put_bucket_versioning(Bucket="snap-bucket", VersioningConfiguration={"Status": "Enabled"})
    for n in range(3):
        s3.put_object(Bucket="snap-bucket", Key="k", Body=f"v{n}".encode())
    s3.put_object(Bucket="snap-bucket", Key="gone", Body=b"x")
    s3.delete_object(Bucket="snap-bucket", Key="gone")
    s3.create_multipart_upload(Bucket="snap-bucket", Key="in-flight")
    iam.create_role(RoleName="snap-role", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="snap-role", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    logs.create_log_group(logGroupName="/snap")
    logs.create_log_stream(logGroupName="/snap", logStreamName="s")
    logs.put_log_events(logGroupName="/snap", logStreamName="s",
                        logEvents=[{"timestamp": 1_700_000_000_000 + n, "message": f"line {n}"} for n in range(5)])
    sqs.create_queue(QueueName="snap-queue")
    before = everything_seen(s3, iam, logs, sqs)
    server.stop()
    state = tmp_path / "state"
    assert (state / snapshot.FILE).exists(), "a clean stop writes a snapshot"

    server = in_process()
    from_snapshot = everything_seen(*clients())
    s3 = boto3.client("s3")
    s3.put_object(Bucket="snap-bucket", Key="k", Body=b"after the snapshot")  # replayed from the journal's tail
    after = everything_seen(*clients())
    server.stop()
    (state / snapshot.FILE).unlink()
    in_process()
    from_journal = everything_seen(*clients())
    assert from_snapshot == before
    assert from_journal == after


def test_a_long_poll_waits_without_holding_other_requests_back_and_its_receipt_survives(in_process):
    import threading

    server = in_process()
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    waiting = sqs.create_queue(QueueName="waits-by-default",
                               Attributes={"ReceiveMessageWaitTimeSeconds": "2"})["QueueUrl"]

    def send_later():
        time.sleep(0.5)
        boto3.client("sqs").send_message(QueueUrl=queue, MessageBody="late")

    sender = threading.Thread(target=send_later)
    started = time.monotonic()
    sender.start()
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"]
    sender.join()
    assert [m["Body"] for m in got] == ["late"] and time.monotonic() - started < 5
    sqs.send_message(QueueUrl=queue, MessageBody="kept")

    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=waiting)  # the queue's own wait applies
    assert 1.8 <= time.monotonic() - started < 8
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"])
    server.stop()

    in_process()
    bodies = [m["Body"] for m in boto3.client("sqs").receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
    assert bodies == ["kept"]  # the receipt the client deleted with was the replayed receive's too


def test_snapshots_taken_while_serving_bound_what_a_crash_replays(in_process, tmp_path, monkeypatch, caplog):
    import logging
    import shutil

    from labcloud.services.moto import service as moto_service, snapshot

    monkeypatch.setattr(moto_service, "SNAPSHOT_EVERY", 5)
    server = in_process()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="crash-bucket")
    for n in range(12):
        s3.put_object(Bucket="crash-bucket", Key=f"k{n:02}", Body=f"v{n}".encode())
    moto = server.registry.service("moto")
    while moto._snapshotting.is_set():
        time.sleep(0.05)
    state, crashed = tmp_path / "state", tmp_path / "crashed"
    assert (state / snapshot.FILE).exists(), "no snapshot was taken while serving"
    shutil.copytree(state, crashed)  # what a kill -9 at this moment would leave: no snapshot at close
    server.stop()

    caplog.set_level(logging.INFO, logger="labcloud")
    in_process(state_dir=crashed)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="crash-bucket")["Contents"]]
    assert keys == [f"k{n:02}" for n in range(12)]
    assert boto3.client("s3").get_object(Bucket="crash-bucket", Key="k11")["Body"].read() == b"v11"
    replayed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("replayed ")]
    assert not replayed or (int(replayed[0].split()[1]) < 5 and "after its snapshot" in replayed[0]), replayed
