"""Plain messages and small leaks (issue 14): progress after a resume, control characters, timestamps
past the end, float TIFFs, hidden temporaries, a second Ctrl+C."""
import io
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

from framepack_desktop.app import main
from framepack_desktop.cli_progress import Progress
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.images import load_image
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import JobFolder
from framepack_desktop.engine.sampling.prompts import unused_timestamps


def decoded(section, order):
    return ev.SectionDecoded(section, order, 0, np.zeros((1, 2, 2, 3), np.uint8), 0, 1, "")


def test_progress_never_counts_past_the_sections_after_a_resume():
    out = io.StringIO()
    progress = Progress(out)
    progress.show(ev.JobStarted("x.job", 4, 49, 64, 64, 30, (), resumed_sections=(3, 2)))
    for order, section in enumerate([3, 2, 1, 0]):    # the kept sections are decoded again, then the rest
        progress.show(decoded(section, order))
    counts = [line.split()[1] for line in out.getvalue().splitlines() if line.startswith("section")]
    assert counts == ["2/4", "2/4", "3/4", "4/4"]


def test_takes_and_progress_escape_control_characters(tmp_path, make_image, capsys):
    out = io.StringIO()
    Progress(out).show(ev.Status("prompt \x1b[2J\x1b]0;owned\x07 done", notice=True))
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue() and "\\x1b[2J" in out.getvalue()

    image = make_image(tmp_path / "in.png", (64, 64))
    job = Job(image=str(image), prompt="a fox\x1b[31m red\x07X", output=str(tmp_path / "o.mp4"), seconds=0.4, window=3)
    import torch

    folder = JobFolder(job)
    try:
        folder.save_section(0, torch.zeros(1, 16, 3, 4, 4), folder.plan.prints[0])
        folder.log("prompt: " + job.prompt)
    finally:
        folder.close()
    assert main(["takes", str(job.job_dir)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed and "a fox\\x1b[31m red\\x07X" in printed
    assert "\x1b" not in (job.job_dir / "log.txt").read_text()


def test_timestamps_past_the_last_section_are_named():
    job = Job(image="/x.png", prompt="[0s] a fox sits\n[2s] it jumps\n[99s] it flies", output="/o.mp4", seconds=5,
              window=9)
    starts = [4 * job.window * s / job.fps for s in range(job.num_sections)]
    assert unused_timestamps(job.prompt, starts) == [99.0]
    assert unused_timestamps("[0s] a\n[1s] b", [0.0, 1.2]) == []


def test_a_float_tiff_in_0_to_1_is_not_black(tmp_path):
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (32, 1))
    Image.fromarray(ramp, mode="F").save(tmp_path / "ramp.tif")
    img = load_image(tmp_path / "ramp.tif")
    assert img[:, -1].min() >= 250 and img[:, 0].max() <= 5 and 120 <= img[0, 32, 0] <= 135


def test_hidden_temporaries_beside_the_output_are_removed_when_the_job_opens(tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (64, 64))
    job = Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"))
    left = tmp_path / ".out.1a2b3c4d.partial.mp4"
    left.write_bytes(b"half a video")
    other = tmp_path / ".holiday.1a2b3c4d.partial.mp4"      # another job's: not ours to remove
    other.write_bytes(b"x")
    JobFolder(job).close()
    assert not left.exists() and other.exists()


@pytest.mark.slow
def test_a_second_ctrl_c_aborts_without_a_traceback_and_the_job_is_stopped(tmp_path, make_image, demo_models,
                                                                          capsys, one_torch_thread):
    image = make_image(tmp_path / "in.png", (160, 128))
    out = tmp_path / "out.mp4"
    log = tmp_path / "out.job" / "log.txt"

    def interrupt_twice_while_decoding():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log.exists() and ": decoding" in log.read_text():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.001)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.002)

    threading.Thread(target=interrupt_twice_while_decoding, daemon=True).start()
    code = main(["render", "--image", str(image), "--prompt", "a fox", "--out", str(out), "--models",
                 str(demo_models), "--seconds", "1.2", "--window", "3", "--resolution", "128", "--steps", "1"])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err
    assert "resume" in err.strip().splitlines()[-1]
    assert json.loads((tmp_path / "out.job" / "state.json").read_text())["state"] == "stopped"


RAM_LIMITED_RUN = """
import resource, sys
import numpy as np
import torch
from PIL import Image
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.runner import run_job

torch.set_num_threads(1)
folder, models = sys.argv[1], sys.argv[2]
Image.fromarray(np.random.default_rng(0).integers(0, 255, (720, 960, 3), dtype=np.uint8)).save(folder + "/in.png")
job = Job(image=folder + "/in.png", prompt="a fox", output=folder + "/o.mp4", seconds=1.2, window=9,
          resolution=960, steps=1, models=models)
warm = list(run_job(job.replace(output=folder + "/warm.mp4", resolution=128, seconds=0.4, window=3)))[-1]
assert type(warm).__name__ == "Finished", warm   # every module imported before the limit
vm = int(next(line for line in open("/proc/self/status") if line.startswith("VmSize")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 400 * 2 ** 20,) * 2)   # 400 MB more than the imports took
last = list(run_job(job))[-1]
print("RESULT", type(last).__name__, getattr(last, "message", ""))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="the memory limit is set with Linux's RLIMIT_AS")
def test_running_out_of_ram_is_a_plain_message(tmp_path, demo_models):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RAM_LIMITED_RUN, str(tmp_path), str(demo_models)],
                          capture_output=True, text=True, timeout=600, cwd=os.getcwd())
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    assert result.startswith("RESULT Failed") and "ran out of memory (RAM)" in result, result


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="the memory limit is set with Linux's RLIMIT_AS")
def test_running_out_of_ram_while_importing_is_a_plain_message(tmp_path, make_image):
    import subprocess
    import sys

    image = make_image(tmp_path / "in.png", (64, 64))
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (300 * 2 ** 20,) * 2); "
              "from framepack_desktop.app import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", script, "render", "--image", str(image), "--prompt", "x",
                           "--out", str(tmp_path / "o.mp4")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1].startswith("error:")
    assert "out of memory" in done.stderr


@pytest.mark.slow
def test_a_stream_dropped_mid_run_is_stopped_and_one_dropped_after_finishing_stays_finished(
        tmp_path, make_image, demo_models, one_torch_thread):
    from framepack_desktop.engine.runner import run_job

    image = make_image(tmp_path / "in.png", (160, 128))
    job = Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.4, window=3,
              resolution=128, steps=1, models=str(demo_models))
    state = tmp_path / "out.job" / "state.json"
    events = run_job(job)
    next(e for e in events if isinstance(e, ev.StepProgress))
    events.close()
    assert json.loads(state.read_text())["state"] == "stopped"
    events = run_job(job)
    next(e for e in events if isinstance(e, ev.Finished))
    events.close()
    assert json.loads(state.read_text())["state"] == "finished"
