"""A real labcloud server in its own process (`python -m labcloud up`), started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from labcloud.client.embedded import wait_until_ready
from labcloud.platform.ports import free_port


@dataclass
class LabcloudProcess:
    url: str
    port: int
    state_dir: Path
    process: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, state_dir: Path, port: int | None = None, env: dict | None = None) -> "LabcloudProcess":
        port = port or free_port()
        state_dir.mkdir(parents=True, exist_ok=True)
        log_path = state_dir.parent / f"labcloud-{port}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "labcloud", "up", "--port", str(port), "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(url, timeout=60, process=process)
        except Exception:
            process.kill()
            process.wait()
            raise RuntimeError(f"labcloud did not start:\n{log_path.read_text()}")
        return cls(url, port, state_dir, process, log_path)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# Short waits so tests of interruptions and stops do not sit idle; each is a documented setting.
FAST_SETTINGS = {
    "LABCLOUD_STOP_GRACE_SECONDS": "5",
    "LABCLOUD_SPOT_CAPACITY_WAIT_SECONDS": "0.5",
}
