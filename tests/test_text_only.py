"""Text only: no start image, the start latent from a plain background."""
import numpy as np
import pytest

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.backgrounds import background
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.video.mp4 import probe, read_job_metadata
from framepack_desktop.ui.timeline_model import TimelineModel


def test_backgrounds():
    assert (background("green", 1)[0, 0] == (0, 177, 64)).all() and background("white", 1).min() == 255
    assert background("black", 1).shape == (720, 1280, 3)
    assert np.array_equal(background("noise", 5), background("noise", 5))
    assert not np.array_equal(background("noise", 5), background("noise", 6))
    with pytest.raises(BadSettings, match="Unknown background 'blue'"):
        Job(image="", prompt="sea", output="o.mp4", background="blue").validate()


def test_the_background_is_part_of_the_fingerprint_and_the_timeline_says_text_only(tmp_path):
    job = Job(image="", prompt="sea", output=str(tmp_path / "o.mp4"), background="grey")
    assert Plan.of(job).root != Plan.of(job.replace(background="noise")).root
    model = TimelineModel()
    model.show_plan(Plan.of(job), demo=True)
    assert model.origin == "Text only: starts from a grey background"


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_a_text_only_job_runs_from_the_cli(tmp_path, demo_models, capsys):
    out = tmp_path / "t.mp4"
    code = main(["render", "--prompt", "waves roll in", "--background", "noise", "--seconds", "0.4", "--window", "3",
                 "--resolution", "128", "--steps", "2", "--models", str(demo_models), "--out", str(out)])
    assert code == 0 and "text only, starting from a noise background" in capsys.readouterr().err
    info = probe(out)
    assert info.frames == 13 and info.width > info.height  # 16:9 landscape bucket
    job = Job.from_json(read_job_metadata(out))
    assert (job.image, job.background) == ("", "noise")
