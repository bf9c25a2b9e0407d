"""The journal's file format: whole records read back, damage is found, kept aside and reported."""

import json

from labcloud.persistence.damage import DamageReport
from labcloud.persistence.journal import MAGIC, Journal, read_records


def write(path, count):
    journal = Journal(path)
    for n in range(count):
        environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": f"/b/{n}", "HTTP_HOST": "h"}
        journal.record(environ, f"body-{n}".encode(), b"")
    journal.close()


def paths(path):
    return [header["path"] for header, _ in read_records(path)]


def test_records_read_back_in_order(tmp_path):
    path = tmp_path / "j.bin"
    write(path, 5)
    assert path.read_bytes().startswith(MAGIC)
    assert paths(path) == [f"/b/{n}" for n in range(5)]
    assert [body for _, body in read_records(path)][2] == b"body-2"


def test_a_damaged_mark_costs_one_record_and_garbage_at_the_end_is_kept(tmp_path):
    path = tmp_path / "j.bin"
    write(path, 4)
    data = bytearray(path.read_bytes())
    second = data.index(b"\xa5LCR", len(MAGIC) + 1)
    data[second + 1] ^= 0x01  # the second record's mark
    path.write_bytes(bytes(data) + b"not a record at all")
    damage = DamageReport()
    Journal(path, damage).close()
    assert paths(path) == ["/b/0", "/b/2", "/b/3"]
    [finding] = damage.findings()
    kept = open(finding["kept_at"], "rb").read()
    assert b"body-1" in kept and kept.endswith(b"not a record at all")


def test_appending_after_a_torn_tail_keeps_every_later_record(tmp_path):
    path = tmp_path / "j.bin"
    write(path, 2)
    whole = path.read_bytes()
    path.write_bytes(whole + whole[len(MAGIC):len(MAGIC) + 30])  # a record cut after 30 bytes
    damage = DamageReport()
    journal = Journal(path, damage)
    journal.record({"REQUEST_METHOD": "PUT", "PATH_INFO": "/after"}, b"", b"")
    journal.close()
    assert paths(path) == ["/b/0", "/b/1", "/after"] and damage.findings() == []
