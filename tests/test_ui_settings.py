"""settings.py: the files the app keeps between runs survive round trips and damage."""
import json

from framepack_desktop.engine.job import Job
from framepack_desktop.settings import (
    AppPaths, HistoryEntry, Settings, load_history, load_queue, load_settings, save_history, save_queue,
    save_settings,
)


def test_home_env_puts_everything_under_one_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path))
    paths = AppPaths.default().ensure()
    for p in (paths.settings_file, paths.queue_file, paths.log_file, paths.outputs_dir, paths.models_dir):
        assert tmp_path in p.parents
    assert paths.log_dir.is_dir() and paths.thumbnails_dir.is_dir()


def test_settings_round_trip(tmp_path):
    paths = AppPaths.under(tmp_path)
    s = Settings(theme="light", models_dir="demo", random_seed=False, last_job={"prompt": "waves", "steps": 7},
                 ui_state={"geometry": "AAAA"})
    save_settings(paths, s)
    assert load_settings(paths) == s


def test_corrupt_settings_are_set_aside_not_fatal(tmp_path):
    paths = AppPaths.under(tmp_path).ensure()
    paths.settings_file.write_text("{ not json")
    assert load_settings(paths) == Settings()
    assert paths.settings_file.with_suffix(".json.bad").read_text() == "{ not json"
    assert not paths.settings_file.exists()


def test_unknown_theme_and_keys_fall_back(tmp_path):
    paths = AppPaths.under(tmp_path).ensure()
    paths.settings_file.write_text(json.dumps({"theme": "purple", "future_key": 1, "models_dir": "/m"}))
    s = load_settings(paths)
    assert (s.theme, s.models_dir) == ("system", "/m")


def test_queue_round_trip_keeps_order_and_every_field(tmp_path):
    paths = AppPaths.under(tmp_path)
    jobs = [Job(image="a.png", prompt="one", output="a.mp4", seed=1, section_prompts={1: "x"}),
            Job(image="b.png", prompt="two", output="b.mp4", variant="f1", seconds=3)]
    save_queue(paths, jobs)
    assert load_queue(paths) == jobs


def test_unreadable_queued_job_is_dropped_others_kept(tmp_path):
    paths = AppPaths.under(tmp_path).ensure()
    good = Job(image="a.png", prompt="one", output="a.mp4")
    paths.queue_file.write_text(json.dumps([{"image": "x", "bogus": 1}, good.to_dict()]))
    assert load_queue(paths) == [good]


def test_history_round_trip(tmp_path):
    paths = AppPaths.under(tmp_path)
    entries = [HistoryEntry("v.mp4", "v.json", "t.png", 73, 12.5, finished_at=100.0, cancelled=True)]
    save_history(paths, entries)
    assert load_history(paths) == entries
