"""How long labcloud takes to start again over a state directory that has seen many writes.

moto's services are made durable by a journal of their mutating requests (persistence/journal.py); a clean
stop also writes a snapshot of moto's state (services/moto/snapshot.py), so a start-up replays only the
journal written after it. Makes a state directory with N S3 writes (PutObject, half of them overwriting a
key: what job logs and checkpoints look like), then times `LabServer(...).start_in_thread()` over it until
the server is ready: after a clean stop (from the snapshot), after a crash (a copy of the state directory
taken while the server still ran: the snapshot taken while serving, every SNAPSHOT_EVERY records, then the
journal after it), and once without any snapshot (the whole journal replayed). Target: under 3 s after
20,000 writes.

    python bench/restart_time.py [--writes 20000] [--runs 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from labcloud.client.environment import client_environment
from labcloud.server.lab_server import LabServer
from labcloud.services.moto import snapshot
from labcloud.services.moto.service import SNAPSHOT_EVERY


def fill(state: Path, writes: int, crashed: Path) -> float:
    server = LabServer(port=0, state_dir=state).start_in_thread()
    try:
        env = client_environment(server.url)
        s3 = boto3.client("s3", endpoint_url=server.url, region_name=env["AWS_DEFAULT_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="restart-bench")
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: s3.put_object(Bucket="restart-bench", Key=f"k{n % (writes // 2 or 1)}",
                                                  Body=b"x" * 200), range(writes)))
        took = time.perf_counter() - started
        moto = server.registry.service("moto")
        while moto._snapshotting.is_set():  # a snapshot being written: the copy is taken once it is whole
            time.sleep(0.05)
        shutil.copytree(state, crashed)  # what a kill -9 now would leave
        return took
    finally:
        server.stop()


def restart(state: Path) -> float:
    started = time.perf_counter()
    server = LabServer(port=0, state_dir=state).start_in_thread()
    took = time.perf_counter() - started
    server.stop()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        crashed = Path(tmp) / "crashed"
        filled = fill(state, args.writes, crashed)
        journal = state / "moto-journal.bin"
        print(f"{args.writes} PutObject writes in {filled:.1f} s; journal {journal.stat().st_size / 1e6:.1f} MB")
        times = [restart(state) for _ in range(args.runs)]
        print(f"start-up after a clean stop (snapshot): median {statistics.median(times):.2f} s "
              f"({', '.join(f'{t:.2f}' for t in times)})")
        after_crash = restart(crashed)
        print(f"start-up after a crash (snapshot taken while serving, then at most {SNAPSHOT_EVERY} records): "
              f"{after_crash:.2f} s")
        (state / snapshot.FILE).unlink()
        whole = restart(state)
        print(f"start-up with no snapshot (the whole journal replayed): {whole:.2f} s, "
              f"{1000 * whole / args.writes:.3f} ms a write")


if __name__ == "__main__":
    main()
