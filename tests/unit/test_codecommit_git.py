"""CodeCommit's git layer without a server: a bare repository's plumbing (commits written without a work
tree, any file name, modes, replace), git http-backend as CGI (what is and is not a git request, its
answers, a gzip body), and the events of reference changes."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from labcloud.services.codecommit.git import http_backend, program
from labcloud.services.codecommit.git.bare import BareRepository
from labcloud.services.codecommit.repositories.events import RefChange, detail, ref_changes

ODD_NAMES = ["with space.txt", 'quote".txt', "ünïcode/名前.txt", "deep/a/b/c.py", "./dot/x.txt"]


@pytest.fixture
def bare(tmp_path):
    repository = BareRepository(tmp_path / "repos" / "r.git")
    repository.init()
    return repository


def test_commit_files_writes_any_file_name_with_its_mode(bare):
    tip, parent = bare.commit_files("main", {**{n: n.encode() for n in ODD_NAMES}, "run.sh": "#!/bin/sh\n"},
                                    "odd names", executable=["run.sh"])
    assert parent is None and bare.branches() == {"main": tip}
    listing = program.run(["ls-tree", "-r", "-z", tip], git_dir=bare.path).stdout.decode().split("\0")
    entries = {line.split("\t", 1)[1]: line.split(" ", 1)[0] for line in listing if line}
    assert set(entries) == {"with space.txt", 'quote".txt', "ünïcode/名前.txt", "deep/a/b/c.py", "dot/x.txt",
                            "run.sh"}
    assert entries["run.sh"] == "100755" and entries["with space.txt"] == "100644"
    with zipfile.ZipFile(io.BytesIO(bare.archive_zip(tip))) as archive:
        assert archive.read('quote".txt') == 'quote".txt'.encode()
        assert archive.read("ünïcode/名前.txt") == "ünïcode/名前.txt".encode()


def test_commits_build_on_the_tip_or_replace_the_tree(bare):
    first, _ = bare.commit_files("main", {"a.txt": "a", "b.txt": "b"}, "first")
    second, parent = bare.commit_files("main", {"b.txt": "B", "c.txt": "c"}, "second")
    assert parent == first
    files = lambda commit: sorted(program.run(["ls-tree", "-r", "--name-only", commit],
                                              git_dir=bare.path).stdout.decode().split())
    assert files(second) == ["a.txt", "b.txt", "c.txt"]
    assert program.run(["show", f"{second}:b.txt"], git_dir=bare.path).stdout == b"B"
    third, _ = bare.commit_files("main", {"only.txt": "x"}, "third", replace=True)
    assert files(third) == ["only.txt"]
    commit = bare.read_commit(third)
    assert commit["parents"] == [second] and commit["message"] == "third"
    assert commit["committer"]["name"] == "labcloud"
    assert bare.read_commit("0" * 40) is None
    assert bare.resolve_commit("refs/heads/nope") is None and bare.resolve_commit(third) == third


def test_a_backslash_is_a_folder_separator_as_in_a_zip_made_on_windows(bare):
    tip, _ = bare.commit_files("main", {"src\\app.py": "x"}, "windows")
    assert program.run(["ls-tree", "-r", "--name-only", tip], git_dir=bare.path).stdout == b"src/app.py\n"


def test_branch_names_follow_git(bare):
    assert BareRepository.valid_branch_name("feature/x-1")
    for bad in ("a..b", "-x", "x.lock", "with space", "a~b", "end/", ""):
        assert not BareRepository.valid_branch_name(bad), bad


@pytest.mark.parametrize("method, endpoint, query, content_type, expected", [
    ("GET", "info/refs", "service=git-upload-pack", "", "git-upload-pack"),
    ("GET", "info/refs", "service=git-receive-pack", "", "git-receive-pack"),
    ("GET", "info/refs", "", "", None),  # the dumb protocol, or an S3 GET: not served as git
    ("GET", "info/refs", "service=git-upload-archive", "", None),
    ("GET", "info/refs", "service=git-upload-pack&service=git-receive-pack", "", None),
    ("POST", "git-upload-pack", "", "application/x-git-upload-pack-request", "git-upload-pack"),
    ("POST", "git-receive-pack", "", "application/x-git-receive-pack-request", "git-receive-pack"),
    ("POST", "git-receive-pack", "", "application/x-git-upload-pack-request", None),
    ("POST", "git-upload-pack", "", "application/octet-stream", None),
])
def test_what_is_a_git_request(method, endpoint, query, content_type, expected):
    environ = {"REQUEST_METHOD": method, "QUERY_STRING": query, "CONTENT_TYPE": content_type}
    assert http_backend.git_service(environ, endpoint) == expected


def environ(method: str, query: str = "", body: bytes = b"", **extra) -> dict:
    return {"REQUEST_METHOD": method, "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "SERVER_PROTOCOL": "HTTP/1.1", **extra}


def test_http_backend_answers_a_reference_advertisement_and_a_missing_repository(bare):
    answer = http_backend.run(bare.path.parent, "/r.git/info/refs", environ("GET", "service=git-upload-pack"))
    body = answer.read_all()
    assert answer.status == "200 OK"
    assert ("Content-Type", "application/x-git-upload-pack-advertisement") in answer.headers
    assert body.startswith(b"001e# service=git-upload-pack\n")
    missing = http_backend.run(bare.path.parent, "/nope.git/info/refs", environ("GET", "service=git-upload-pack"))
    missing.read_all()
    assert missing.status.startswith("404")


def test_a_gzip_request_body_goes_through_for_http_backend_to_inflate(bare):
    tip, _ = bare.commit_files("main", {"a.txt": "a"}, "a")
    request = _pkt(f"want {tip} side-band-64k\n") + b"0000" + _pkt("done\n")
    for body, extra in ((request, {}), (gzip.compress(request), {"HTTP_CONTENT_ENCODING": "gzip"})):
        answer = http_backend.run(bare.path.parent, "/r.git/git-upload-pack", environ(
            "POST", body=body, CONTENT_TYPE="application/x-git-upload-pack-request", **extra))
        data = answer.read_all()
        assert answer.status == "200 OK" and b"PACK" in data, data[:200]


def test_closing_an_answer_early_ends_the_process(bare):
    bare.commit_files("main", {"big.bin": bytes(range(256)) * 40000}, "big")
    tip = bare.resolve_commit("refs/heads/main")
    request = _pkt(f"want {tip}\n") + b"0000" + _pkt("done\n")
    answer = http_backend.run(bare.path.parent, "/r.git/git-upload-pack", environ(
        "POST", body=request, CONTENT_TYPE="application/x-git-upload-pack-request"))
    next(iter(answer.body))
    answer.body.close()  # the client went away
    assert answer.body.process.poll() is not None


def _pkt(line: str) -> bytes:
    data = line.encode()
    return b"%04x" % (len(data) + 4) + data


def test_reference_changes_and_their_event_details():
    before = {"refs/heads/main": "a" * 40, "refs/heads/old": "b" * 40, "refs/notes/commits": "c" * 40}
    after = {"refs/heads/main": "d" * 40, "refs/heads/new": "e" * 40, "refs/tags/v1": "f" * 40,
             "refs/notes/commits": "9" * 40}
    changes = ref_changes(before, after)
    assert changes == [RefChange("refs/heads/main", "a" * 40, "d" * 40), RefChange("refs/heads/new", None, "e" * 40),
                       RefChange("refs/heads/old", "b" * 40, None), RefChange("refs/tags/v1", None, "f" * 40)]
    details = [detail(c, "repo", "id-1", "arn:caller") for c in changes]
    assert details[0] == {"event": "referenceUpdated", "repositoryName": "repo", "repositoryId": "id-1",
                          "referenceType": "branch", "referenceName": "main", "referenceFullName": "refs/heads/main",
                          "commitId": "d" * 40, "oldCommitId": "a" * 40, "callerUserArn": "arn:caller"}
    assert details[1]["event"] == "referenceCreated" and "oldCommitId" not in details[1]
    assert details[2]["event"] == "referenceDeleted" and "commitId" not in details[2]
    assert details[3]["referenceType"] == "tag" and details[3]["referenceName"] == "v1"
