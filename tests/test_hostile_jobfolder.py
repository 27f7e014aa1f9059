"""Job folders (issue 14): never written through a symbolic link, a read-only folder is named as such,
and a folder that is not a job folder is refused with the reason."""
import os
import tempfile
from pathlib import Path

import pytest

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.errors import UserError
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import JobFolder
from framepack_desktop.engine.runner import run_job


@pytest.fixture
def job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (160, 128), seed=2)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.4, window=3,
               resolution=128, steps=1, models=str(demo_models))


@pytest.mark.parametrize("part", ["frames/frames.bin", "log.txt", "sections", "frames", ".lock", "decoded.json"])
def test_a_symlinked_part_of_a_job_folder_is_refused_and_its_target_untouched(job, tmp_path, part):
    victim = tmp_path / "victim"
    if part in ("sections", "frames"):
        victim.mkdir()
        (victim / "thesis.txt").write_text("years of work")
    else:
        victim.write_text("years of work")
    link = job.job_dir / part
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim)

    events = list(run_job(job))
    assert isinstance(events[-1], ev.Failed)
    assert "symbolic link" in events[-1].message and part.split("/")[-1] in events[-1].message
    if victim.is_dir():
        assert [p.name for p in victim.iterdir()] == ["thesis.txt"]
    else:
        assert victim.read_text() == "years of work"


def _as_a_user_without_write_access(fn):
    """Run `fn` where permissions apply: as `nobody` in a forked child when the tests run as root."""
    if os.geteuid() != 0:
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = fn()
        except Exception as e:  # noqa: BLE001 - the child reports whatever it met to the test
            result = f"{type(e).__name__}: {e}"
        os.write(write, str(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return text


def test_a_read_only_job_folder_is_reported_as_read_only_not_as_running(job, make_image):
    root = Path(tempfile.mkdtemp(prefix="framepack-readonly-"))   # reachable by a user who is not root
    os.chmod(root, 0o755)
    image = make_image(root / "in.png", (160, 128))
    os.chmod(image, 0o644)
    ro = job.replace(image=str(image), output=str(root / "out.mp4"))
    (ro.job_dir / "sections").mkdir(parents=True)
    os.chmod(ro.job_dir, 0o555)

    def open_it():
        try:
            JobFolder(ro).close()
        except UserError as e:
            return str(e)
        return "opened"

    message = _as_a_user_without_write_access(open_it)
    assert "read-only" in message and "already running" not in message


def test_a_folder_not_named_job_is_refused_with_the_reason(tmp_path, capsys):
    folder = tmp_path / "Documents"
    (folder / "sections").mkdir(parents=True)
    assert main(["resume", str(folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "Documents" in err and ".job" in err
    assert main(["takes", str(folder)]) == 1
    assert ".job" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["sections"]
