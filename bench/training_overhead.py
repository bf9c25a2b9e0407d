"""How long fit() takes on labcloud beside running the same training script directly.

Starts its own labcloud (in memory, on a free port), runs a script that trains for about 2 s through
the SageMaker SDK's SKLearn estimator, and compares the time from fit() to its return with the time of
`python train.py`. The target is an overhead under 1 s. Prints its figures; stops its labcloud.

    python bench/training_overhead.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labcloud.platform.ports import free_port

SCRIPT = """\
import os, time
deadline = time.time() + 2.0
steps = 0
while time.time() < deadline:  # about 2 s of work
    steps += 1
open(os.path.join(os.environ.get("SM_MODEL_DIR", "."), "steps.txt"), "w").write(str(steps))
print("trained", steps, "steps")
"""



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labcloud-bench-"))
    (work / "src").mkdir()
    (work / "src" / "train.py").write_text(SCRIPT)

    direct = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "train.py"], cwd=work / "src", check=True, capture_output=True,
                       env={**os.environ, "SM_MODEL_DIR": str(work)})
        direct.append(time.perf_counter() - start)

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--port", str(port), "--in-memory"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from labcloud.client.embedded import wait_until_ready
        from labcloud.client.environment import configure

        wait_until_ready(f"http://127.0.0.1:{port}", process=server)
        configure(f"http://127.0.0.1:{port}")
        import labcloud
        from sagemaker.sklearn import SKLearn

        session = labcloud.session()
        fitted = []
        for _ in range(args.runs):
            estimator = SKLearn(entry_point="train.py", source_dir=str(work / "src"), role=labcloud.ROLE_ARN,
                                instance_count=1, instance_type="ml.m5.large", framework_version="1.2-1",
                                sagemaker_session=session)
            start = time.perf_counter()
            estimator.fit(logs=True)
            fitted.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=60)

    d, f = statistics.median(direct), statistics.median(fitted)
    print(f"\nruns: {args.runs}")
    print(f"script run directly : {d:.2f} s (median; all: {', '.join(f'{x:.2f}' for x in direct)})")
    print(f"fit() on labcloud   : {f:.2f} s (median; all: {', '.join(f'{x:.2f}' for x in fitted)})")
    print(f"overhead            : {f - d:.2f} s  (target < 1 s)")
    print(f"ratio fit/direct    : {f / d:.2f}")


if __name__ == "__main__":
    main()
