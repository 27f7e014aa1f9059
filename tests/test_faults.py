"""Crash safety on the demo models: SIGKILL at random moments, then resume; full disks.

Every run happens in a forked child of one driver process (this file run as a script) that has
loaded the demo models once, so a run costs its own work, not an interpreter start. The driver
runs torch on one thread: libgomp's thread pool does not survive a fork, and one thread count for
the reference, the killed runs and the resumes keeps their results bit-comparable.

A kill lands at a random moment (seeded) within the sampling or the decoding of a random section:
the test waits for that phase's line in the job's log.txt, then for a random fraction of how long
the phase took in the reference run. Where the run really was when it died (the log's last line)
is printed with `pytest -s`; every run must resume to the reference video without sampling any
section whose latents were on disk at the kill.
"""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framepack_desktop.engine.job import Job
from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.engine.video.mp4 import probe

pytestmark = pytest.mark.slow  # kills and full disks in the middle of whole generations


KILLS = 10
SEED = 20250607
POLL_S = 0.003


# ----- the driver (runs as a separate process) -----
def serve() -> None:
    import resource

    import torch

    torch.set_num_threads(1)
    from framepack_desktop.engine.runner import run_job
    from framepack_desktop.engine.session import ModelSession

    session = ModelSession()
    for line in sys.stdin:
        cmd = json.loads(line)
        job = Job.from_json(cmd["job"])
        if cmd.get("in_process"):
            _run_and_report(run_job(job, session=session), cmd)
            print(json.dumps({"done": True}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                events = run_job(job, session=session)
                _run_and_report(events, cmd, resource)
            finally:
                os._exit(0)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": status}), flush=True)


def _run_and_report(events, cmd, resource=None) -> None:
    """Run a job, injecting the requested fault after the n-th decoded section; write a report."""
    from framepack_desktop.engine import events as ev

    t0, report, decoded = time.monotonic(), [], 0
    for e in events:
        item = {"type": type(e).__name__, "t": time.monotonic() - t0}
        for name in ("section", "step", "text", "message", "notice", "resumed_sections", "num_frames"):
            if hasattr(e, name):
                item[name] = getattr(e, name)
        report.append(item)
        if isinstance(e, ev.SectionDecoded):
            decoded += 1
            if decoded == cmd.get("enospc_after"):
                os.pwrite = _disk_full
            if decoded == cmd.get("fsize_after"):
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (8192, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    if resource is not None and cmd.get("fsize_after"):
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    Path(cmd["report"]).write_text(json.dumps(report))


def _disk_full(fd, data, offset):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# ----- the test side -----
class Driver:
    def __init__(self, folder: Path):
        self.folder = folder
        self.stderr = open(folder / "driver-stderr.txt", "w")
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(Path(__file__).parents[1])}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, env=env)
        self.count = 0

    def _send(self, job: Job, **options) -> Path:
        self.count += 1
        report = self.folder / f"report-{self.count}.json"
        self.proc.stdin.write(json.dumps({"job": job.to_json(), "report": str(report), **options}) + "\n")
        self.proc.stdin.flush()
        return report

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the driver died:\n" + (self.folder / "driver-stderr.txt").read_text()[-3000:])
        return json.loads(line)

    def reference(self, job: Job) -> list[dict]:
        report = self._send(job, in_process=True)
        self._reply()
        return json.loads(report.read_text())

    def start(self, job: Job, **faults) -> int:
        self.report = self._send(job, **faults)
        return self._reply()["pid"]

    def wait(self) -> int:
        return self._reply()["status"]

    def run(self, job: Job, **faults) -> list[dict]:
        self.start(job, **faults)
        status = self.wait()
        assert os.WIFEXITED(status), f"run ended with status {status}"
        return json.loads(self.report.read_text())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.stderr.close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = Driver(tmp_path_factory.mktemp("driver"))
    yield d
    d.close()


@pytest.fixture(scope="module")
def base_job(demo_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:180, 0:240]
    img = np.stack([x / 240 * 255, y / 180 * 255, (x + y) / 420 * 255], -1) + rng.normal(0, 20, (180, 240, 3))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / "in.png")
    return Job(image=str(folder / "in.png"), prompt="[0s] a fox sits\n[0.4s] the fox jumps", output=str(folder / "x.mp4"),
               seconds=1.2, window=3, resolution=128, steps=3, models=str(demo_models))


class Reference:
    """An uninterrupted run: its frames, and how long each phase of each section took."""

    def __init__(self, driver: Driver, job: Job):
        self.job = job
        self.events = driver.reference(job)
        assert self.events[-1]["type"] == "Finished", self.events[-1]
        with FrameStore.open(job.job_dir / "frames") as store:
            self.frames = store.read_range(0, job.num_frames)
        self.phase_s = {}
        began, previous = {}, 0.0
        for e in self.events:
            if e["type"] == "StepProgress" and e["step"] == 1:
                began[e["section"]] = previous
            elif e["type"] == "StepProgress" and e["step"] == job.steps:
                self.phase_s[(e["section"], "sampling")] = e["t"] - began[e["section"]]
                began[e["section"]] = e["t"]
            elif e["type"] == "SectionDecoded":
                self.phase_s[(e["section"], "decoding")] = e["t"] - began[e["section"]]
            previous = e["t"]


@pytest.fixture(scope="module")
def references(driver, base_job, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    return {v: Reference(driver, base_job.replace(variant=v, output=str(folder / f"{v}.mp4"))) for v in ("original", "f1")}


def saved_sections(job: Job) -> set[int]:
    """Time indices with a saved take (hidden half-written temporaries do not count)."""
    return {int(p.name[:4]) for p in (job.job_dir / "sections").glob("*.safetensors") if not p.name.startswith(".")}


def wait_for_line(job: Job, marker: str, deadline_s: float = 120) -> None:
    log, until = job.job_dir / "log.txt", time.monotonic() + deadline_s
    while time.monotonic() < until:
        if log.exists() and marker in log.read_text():
            return
        time.sleep(POLL_S)
    raise AssertionError(f"'{marker}' never appeared in {log}")


def last_activity(job: Job) -> str:
    lines = [ln[20:] for ln in (job.job_dir / "log.txt").read_text().splitlines()]
    line = next(ln for ln in reversed(lines) if ln.startswith("section ") or ln.startswith("started"))
    return line.split(" (")[0]


def assert_same_video(job: Job, reference: Reference, events: list[dict]) -> None:
    assert events[-1]["type"] == "Finished", events[-1]
    with FrameStore.open(job.job_dir / "frames") as store:
        assert np.array_equal(store.read_range(0, job.num_frames), reference.frames)
    assert probe(job.output).frames == job.num_frames


def test_sigkill_at_random_moments_loses_no_finished_section(driver, references, tmp_path):
    rng = random.Random(SEED)
    kills, attempts, log = 0, 0, []
    while kills < KILLS:
        attempts += 1
        assert attempts <= KILLS + 4, f"only {kills} of {attempts - 1} runs were killed in time: {log}"
        variant = ("original", "f1")[attempts % 2]
        ref = references[variant]
        job = ref.job.replace(output=str(tmp_path / f"run{attempts}.mp4"))
        # Both variants and both phases in turn; the section and the moment within the phase at random.
        phase = ("sampling", "decoding")[(attempts // 2) % 2]
        section, fraction = rng.randrange(job.num_sections), rng.random()

        pid = driver.start(job)
        wait_for_line(job, f"section {section}: {phase}")
        time.sleep(fraction * ref.phase_s[(section, phase)])
        os.kill(pid, signal.SIGKILL)
        status = driver.wait()
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            log.append(f"{variant}: finished before the kill")
            continue
        kills += 1
        kept, doing = saved_sections(job), last_activity(job)

        resumed = driver.run(job)
        started = next(e for e in resumed if e["type"] == "JobStarted")
        sampled = {e["section"] for e in resumed if e["type"] == "StepProgress"}
        assert set(started["resumed_sections"]) == kept, (doing, kept, started)
        assert not sampled & kept, f"killed during '{doing}': sampled {sampled} again, though {kept} were saved"
        assert sampled == set(range(job.num_sections)) - kept
        assert_same_video(job, ref, resumed)
        log.append(f"{variant}: aimed at {phase} of section {section} ({fraction:.2f} of "
                   f"{ref.phase_s[(section, phase)]:.2f} s), killed during '{doing}', "
                   f"{len(kept)}/{job.num_sections} sections kept")
    print("\n".join(["", f"{kills} kills in {attempts} runs:"] + log))


def test_full_disk_while_writing_frames_fails_clearly_and_resumes(driver, references, tmp_path):
    ref = references["original"]
    job = ref.job.replace(output=str(tmp_path / "full.mp4"))
    events = driver.run(job, enospc_after=1)
    failed = events[-1]
    assert failed["type"] == "Failed"
    assert "The disk is full" in failed["message"] and "frames.bin" in failed["message"]
    assert "Free some space" in failed["message"] and "Every finished section is kept" in failed["message"]
    kept = saved_sections(job)
    assert len(kept) == 2  # the decoded one, and the one whose frames could not be written
    assert json.loads((job.job_dir / "state.json").read_text())["state"] == "failed"
    assert "disk is full" in (job.job_dir / "log.txt").read_text()

    resumed = driver.run(job)
    assert {e["section"] for e in resumed if e["type"] == "StepProgress"} == set(range(job.num_sections)) - kept
    assert_same_video(job, ref, resumed)


def test_file_size_limit_while_saving_a_section_fails_clearly_and_resumes(driver, references, tmp_path):
    ref = references["f1"]
    job = ref.job.replace(output=str(tmp_path / "limit.mp4"))
    events = driver.run(job, fsize_after=1)
    failed = events[-1]
    assert failed["type"] == "Failed"
    assert "sections" in failed["message"] and "too large" in failed["message"]
    assert "Every finished section is kept" in failed["message"]
    assert saved_sections(job) == {0}
    assert not [p for p in (job.job_dir / "sections").iterdir() if p.name.startswith(".")]

    resumed = driver.run(job)
    assert {e["section"] for e in resumed if e["type"] == "StepProgress"} == {1, 2}
    assert_same_video(job, ref, resumed)


if __name__ == "__main__":
    serve()
