"""How a batch transform job cuts its input into requests and joins the answers, as AWS documents it:

    SplitType None         the whole object is one request (at most MaxPayloadInMB)
    SplitType Line         records are lines; BatchStrategy SingleRecord sends one per request,
                           MultiRecord packs as many as fit in MaxPayloadInMB
    AssembleWith Line      responses joined one per line; None: concatenated as they are
"""

from __future__ import annotations


class JobFailed(Exception):
    """The job cannot go on; the message is its FailureReason."""


def split_records(data: bytes, split_type: str) -> list[bytes]:
    if split_type == "Line":
        return [line for line in data.splitlines(keepends=True) if line.strip()]
    if split_type in (None, "None"):
        return [data]
    raise JobFailed(f"SplitType {split_type} is not supported by labcloud; use None or Line.")


def batches(records: list[bytes], strategy: str, max_bytes: int, split_type: str) -> list[bytes]:
    """Requests to send: one per record (SingleRecord) or records packed up to max_bytes (MultiRecord)."""
    for record in records:
        if len(record) > max_bytes:
            raise JobFailed(f"A record of {len(record)} bytes is larger than MaxPayloadInMB "
                            f"({max_bytes // (1024 * 1024)} MB). Split the input (SplitType Line) or raise "
                            "MaxPayloadInMB.")
    if strategy != "MultiRecord" or split_type in (None, "None"):
        return [r if r.endswith(b"\n") or split_type in (None, "None") else r + b"\n" for r in records]
    requests, current = [], b""
    for record in records:
        record = record if record.endswith(b"\n") else record + b"\n"
        if current and len(current) + len(record) > max_bytes:
            requests.append(current)
            current = b""
        current += record
    if current:
        requests.append(current)
    return requests


def assemble(outputs: list[bytes], assemble_with: str | None) -> bytes:
    if assemble_with == "Line":
        return b"".join(o if o.endswith(b"\n") else o + b"\n" for o in outputs)
    return b"".join(outputs)


def output_key(key: str, input_prefix: str, output_prefix: str) -> str:
    """Where an input object's answer goes: `<output prefix>/<its name below the input prefix>.out`
    (s3://b/in + in/x/a.csv -> x/a.csv.out), else its base name."""
    folder = input_prefix.rstrip("/") + "/"
    relative = key[len(folder):] if input_prefix and key.startswith(folder) else key.rsplit("/", 1)[-1]
    return "/".join(p for p in (output_prefix.rstrip("/"), relative + ".out") if p)
