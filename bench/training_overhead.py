"""How long fit() and deploy() take on labcloud, through `labcloud.session()` and through a plain
`sagemaker.Session()` (what AWS's examples build), beside running the same training script directly.

Starts its own labcloud (in memory, on a free port), runs a script that trains for about 2 s through
the SageMaker SDK's SKLearn estimator, and compares the time from fit() to its return with the time of
`python train.py`; then deploys the trained model behind a second container (a two-container
PipelineModel) and times deploy(). The target is an overhead under 1 s for fit() and under 2 s for
deploy() with either kind of session. Prints its figures; stops its labcloud.

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



# The model server's handlers: whatever comes in goes out (the benchmark times deploy(), not the model).
SERVE = """\
def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return data
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labcloud-bench-"))
    (work / "src").mkdir()
    (work / "src" / "train.py").write_text(SCRIPT)
    (work / "src" / "serve.py").write_text(SERVE)

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
        import sagemaker

        labcloud.start(quiet=True)  # as a notebook does: plain sessions then wait promptly too
        sessions = {"labcloud.session()": labcloud.session(),
                    "sagemaker.Session()": sagemaker.Session()}
        fitted = {kind: [] for kind in sessions}
        deployed = {kind: [] for kind in sessions}
        for kind, session in sessions.items():
            for run in range(args.runs):
                estimator = fit_once(session, work)
                fitted[kind].append(estimator.fit_seconds)
                deployed[kind].append(deploy_once(session, work, estimator, f"bench-{len(deployed[kind])}-{run}"
                                                  f"-{'lab' if kind.startswith('labcloud') else 'plain'}"))
    finally:
        server.terminate()
        server.wait(timeout=60)

    d = statistics.median(direct)
    print(f"\nruns: {args.runs}")
    print(f"script run directly            : {d:.2f} s (median; all: {', '.join(f'{x:.2f}' for x in direct)})")
    for kind in fitted:
        f = statistics.median(fitted[kind])
        print(f"fit() with {kind:<20}: {f:.2f} s (median; all: {', '.join(f'{x:.2f}' for x in fitted[kind])}); "
              f"overhead {f - d:.2f} s (target < 1 s), ratio {f / d:.2f}")
    for kind in deployed:
        print(f"deploy() with {kind:<17}: {statistics.median(deployed[kind]):.2f} s (median; all: "
              f"{', '.join(f'{x:.2f}' for x in deployed[kind])}); two containers (target < 2 s)")


def fit_once(session, work: Path):
    import labcloud
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(entry_point="train.py", source_dir=str(work / "src"), role=labcloud.ROLE_ARN,
                        instance_count=1, instance_type="ml.m5.large", framework_version="1.2-1",
                        sagemaker_session=session)
    start = time.perf_counter()
    estimator.fit(logs=True)
    estimator.fit_seconds = time.perf_counter() - start
    return estimator


def deploy_once(session, work: Path, estimator, name: str) -> float:
    """deploy() of [the trained model's container, a second one] as a PipelineModel; returns its seconds."""
    import labcloud
    from sagemaker.pipeline import PipelineModel
    from sagemaker.sklearn.model import SKLearnModel

    data = estimator.model_data
    models = [SKLearnModel(model_data=data, role=labcloud.ROLE_ARN, entry_point="serve.py",
                           source_dir=str(work / "src"), framework_version="1.2-1", py_version="py3",
                           sagemaker_session=session) for _ in range(2)]
    start = time.perf_counter()
    PipelineModel(models=models, role=labcloud.ROLE_ARN, sagemaker_session=session, name=name).deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=name)
    took = time.perf_counter() - start
    session.sagemaker_client.delete_endpoint(EndpointName=name)
    return took


if __name__ == "__main__":
    main()
