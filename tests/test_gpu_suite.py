"""The GPU suite (benchmarks/gpu_suite.py) kept from rotting: its dry run walks every item's code on
the CPU at demo sizes; items are isolated, and the budget skips what would not fit."""
import json

import pytest
import torch

from benchmarks import gpu_suite
from benchmarks.suite_items import Item, Unavailable, items
from benchmarks.suite_rig import DRY, FULL, Rig

# Paths this CPU machine cannot run; every other item must pass in the dry run.
CPU_UNAVAILABLE = {"fp8_compute", "vram_meter", "int8", "nf4"}


def test_dry_run_runs_every_item_and_writes_json_and_markdown(tmp_path, capsys):
    assert gpu_suite.main(["--dry-run", "--out", str(tmp_path)]) == 0
    [written] = tmp_path.glob("*-dry-run.json")
    result = json.loads(written.read_text())
    records = {r["key"]: r for r in result["items"]}
    rig = Rig(DRY, torch.device("cpu"), work=tmp_path / "rig")
    assert list(records) == [item.key for item in items(rig)]
    for key, r in records.items():
        assert r["status"] == ("unavailable" if key in CPU_UNAVAILABLE else "ok"), (key, r)
    got = {k: r.get("result") for k, r in records.items()}
    assert got["bf16"]["s_per_it"] > 0 and got["bf16"]["skipped_steps"] == 0
    assert len(got["magcache_calibration"]["ratios"]) == DRY.cache_steps
    assert len(got["magcache_command"]["ratios"]) == DRY.calibration[1]
    assert got["teacache"]["steps"] == DRY.cache_steps
    assert got["bf16"]["vs_pipeline"] == pytest.approx(got["bf16"]["s_per_it"] / got["pipeline"]["s_per_it"])
    assert [j["sections"] for j in got["jobs"]["jobs"]] == [1, 2]
    assert got["gguf"]["relative_error_vs_bf16"] < 0.05
    assert got["compile"]["steps"] == DRY.steps
    markdown = written.with_suffix(".md").read_text()
    assert all(f"| {r['title']} |" in markdown for r in result["items"])
    screen = capsys.readouterr().out
    assert len(screen.splitlines()) <= len(records) + 3


def test_a_failing_item_is_recorded_with_its_traceback_and_the_suite_goes_on(tmp_path):
    rig = Rig(DRY, torch.device("cpu"), work=tmp_path)
    suite = gpu_suite.Suite(budget_s=60, started=gpu_suite.time.monotonic(), only=None)

    def broken(rig):
        raise ZeroDivisionError("division by zero in the item")

    def missing(rig):
        raise Unavailable("needs a GPU")

    suite.run(Item("broken", "a broken item", broken, lambda r: 0.1), rig, Unavailable)
    suite.run(Item("missing", "an unavailable path", missing, lambda r: 0.1), rig, Unavailable)
    suite.run(Item("fine", "a working item", lambda r: {"x": 1}, lambda r: 0.1), rig, Unavailable)
    broken_record, missing_record, fine = suite.records
    assert broken_record["status"] == "failed" and "ZeroDivisionError" in broken_record["error"]
    assert "in broken" in broken_record["traceback"]
    assert missing_record == {**missing_record, "status": "unavailable", "why": "needs a GPU"}
    assert fine["status"] == "ok" and fine["result"] == {"x": 1}


def test_the_budget_skips_what_would_not_fit(tmp_path):
    rig = Rig(DRY, torch.device("cpu"), work=tmp_path)
    suite = gpu_suite.Suite(budget_s=5, started=gpu_suite.time.monotonic(), only=None)
    suite.run(Item("long", "too long", lambda r: {"ran": True}, lambda r: 60.0), rig, Unavailable)
    suite.run(Item("short", "fits", lambda r: {"ran": True}, lambda r: 0.5), rig, Unavailable)
    long, short = suite.records
    assert long["status"] == "skipped" and "expected 60 s" in long["why"] and "result" not in long
    assert short["status"] == "ok"


def test_the_plan_fits_nine_minutes_on_an_h100_from_counted_flops(tmp_path):
    rig = Rig(FULL, torch.device("cpu"), work=tmp_path, peak_tflops=989)
    total = sum(item.cost(rig) for item in items(rig))
    assert rig.flops / 1e12 == pytest.approx(485, rel=0.01)
    assert total < gpu_suite.DEFAULT_BUDGET_S < 9 * 60


def test_wheels_come_only_from_the_given_folder(tmp_path):
    empty = gpu_suite.install_wheels(tmp_path)
    assert empty["status"] == "failed" and "no .whl files" in empty["error"]
    (tmp_path / "framepack_missing_dep-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    broken = gpu_suite.install_wheels(tmp_path)
    assert broken["status"] == "failed" and broken["result"]["wheels"] == ["framepack_missing_dep-1.0-py3-none-any.whl"]
    assert "framepack_missing_dep" in broken["traceback"]  # pip says which wheel it could not install
