"""Schema (issue 14): one strict reader for job JSON and settings, one line per problem; the window's
start-up scan survives a bad job.json and lists what it could not read."""
import json
import logging

import pytest

from framepack_desktop.app import main
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import scan_job_folders
from framepack_desktop.engine.paths import AppPaths
from framepack_desktop.settings import load_settings


def bad_job_dict(**wrong):
    d = Job(image="/x/in.png", prompt="a fox", output="/x/out.mp4").to_dict()
    d.update(wrong)
    return d


def test_wrong_types_give_one_line_per_problem():
    d = bad_job_dict(steps="abc", gs=[10], seed=1.5, compile="yes", section_seeds={"x": 3}, end_image=7)
    with pytest.raises(BadSettings) as info:
        Job.from_dict(d)
    lines = str(info.value).splitlines()
    for name in ("steps", "gs", "seed", "compile", "section_seeds", "end_image"):
        assert sum(f"'{name}'" in line for line in lines) == 1, (name, lines)
    assert "abc" in next(line for line in lines if "'steps'" in line)


def test_a_number_where_text_belongs_and_a_bool_where_a_number_belongs_are_refused():
    with pytest.raises(BadSettings, match="'prompt'"):
        Job.from_dict(bad_job_dict(prompt=5))
    with pytest.raises(BadSettings, match="'steps'"):
        Job.from_dict(bad_job_dict(steps=True))
    assert Job.from_dict(bad_job_dict(gs=7)).gs == 7          # a whole number is a number


def test_render_from_a_job_json_with_wrong_types_is_one_error_without_traceback(tmp_path, capsys):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(bad_job_dict(window="3")))
    assert main(["render", "--from", str(path), "--out", str(tmp_path / "o.mp4")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Unexpected" not in err and "'window'" in err
    assert err.startswith("error:")


def test_a_job_json_with_impossible_values_is_refused_at_reading(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(bad_job_dict(seconds=1e9)))
    from framepack_desktop.engine.jobfile import read_job

    with pytest.raises(BadSettings, match="600"):
        read_job(path)


def test_the_scan_survives_a_bad_job_json_and_lists_it(tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (64, 64))
    good = Job(image=str(image), prompt="a fox", output=str(tmp_path / "good.mp4"))
    (good.job_dir / "sections").mkdir(parents=True)
    (good.job_dir / "job.json").write_text(good.to_json())
    for name, text in {"types": json.dumps(bad_job_dict(window="3", seconds="long")),
                       "garbage": "{not json", "huge": json.dumps(bad_job_dict(seconds=1e12))}.items():
        (tmp_path / f"{name}.job").mkdir()
        (tmp_path / f"{name}.job" / "job.json").write_text(text)

    scan = scan_job_folders(tmp_path)
    assert [u.job_dir.name for u in scan.unfinished] == ["good.job"]
    unreadable = dict((p.name, why) for p, why in scan.unreadable)
    assert sorted(unreadable) == ["garbage.job", "huge.job", "types.job"]
    assert "'window'" in unreadable["types.job"] and "600" in unreadable["huge.job"]


def test_settings_of_the_wrong_type_fall_back_one_by_one_with_a_line_each(tmp_path, caplog):
    paths = AppPaths.under(tmp_path)
    paths.ensure()
    paths.settings_file.write_text(json.dumps({
        "theme": "dark", "models_dir": 5, "output_dir": "/videos", "random_seed": "yes", "last_job": [1],
        "ui_state": {"a": 3}, "colour": "blue",
    }))
    with caplog.at_level(logging.WARNING):
        s = load_settings(paths)
    assert (s.theme, s.models_dir, s.output_dir, s.random_seed, s.last_job, s.ui_state) == \
        ("dark", "", "/videos", True, {}, {})
    lines = [r.getMessage() for r in caplog.records]
    for name in ("models_dir", "random_seed", "last_job", "ui_state", "colour"):
        assert sum(name in line for line in lines) == 1, (name, lines)


def test_every_setting_has_a_declared_kind():
    """A new setting without a kind would be dropped as unknown at the next start."""
    import dataclasses

    from framepack_desktop.settings import _SETTING_KINDS, Settings

    assert set(_SETTING_KINDS) == {f.name for f in dataclasses.fields(Settings)}


def test_every_job_field_has_a_declared_kind():
    """The strict reader checks a value by its field's annotation: a field whose annotation has no
    kind would be read unchecked (a new field must add its kind to job._KINDS)."""
    import dataclasses

    from framepack_desktop.engine import job as job_module

    unknown = [f.name for f in dataclasses.fields(job_module.Job) if f.type not in job_module._KINDS]
    assert unknown == []
