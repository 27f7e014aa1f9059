"""The window (issue 14): a bad job.json in the outputs folder never stops it from opening; the
folders it could not read are named in the status line, the good ones still offered."""
import gc
import json

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from framepack_desktop.engine.job import Job
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.main_window import MainWindow


@pytest.mark.slow
def test_the_window_opens_over_a_bad_job_json_and_names_it(qtbot, tmp_path, demo_models, make_image):
    out = tmp_path / "out"
    image = make_image(tmp_path / "in.png", (64, 64))
    good = Job(image=str(image), prompt="a fox", output=str(out / "good.mp4"), models=str(demo_models))
    (good.job_dir / "sections").mkdir(parents=True)
    (good.job_dir / "job.json").write_text(good.to_json())
    bad = good.to_dict() | {"window": "3", "seconds": "long"}
    (out / "bad.job").mkdir()
    (out / "bad.job" / "job.json").write_text(json.dumps(bad))

    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir=str(demo_models), output_dir=str(out)))
    w = MainWindow(paths, load_settings(paths))
    try:
        w.show()
        qtbot.waitUntil(lambda: w.tasks.idle, timeout=60_000)
        assert [u.job_dir.name for u in w.stage.resume.jobs] == ["good.job"]
        assert "bad.job" in w.status_text.text() and "Could not read 1 job folder" in w.status_text.text()
    finally:
        w.close()
        w.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
