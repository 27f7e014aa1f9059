"""Timestamped prompts: parsing, and which prompt each section gets."""
import subprocess
import sys
from pathlib import Path

import pytest

from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.sampling.prompts import parse_timed_prompt, prompts_for_sections


def test_plain_text_is_one_prompt_for_the_whole_video():
    assert parse_timed_prompt("  a cat jumps  ") == [(0.0, "a cat jumps")]
    assert parse_timed_prompt("a cat\njumps high\n") == [(0.0, "a cat jumps high")]


def test_timestamps_in_every_accepted_form():
    text = "[0s] waves\n[2.5s] turns around\n[3.2 s] walks\n[1:05] sits\n[4 sec] stops\n[2,75s] smiles"
    assert parse_timed_prompt(text) == [
        (0.0, "waves"),
        (2.5, "turns around"),
        (2.75, "smiles"),
        (3.2, "walks"),
        (4.0, "stops"),
        (65.0, "sits"),
    ]


def test_untimed_lines_continue_the_previous_timestamp():
    text = "[0s] a woman waves\n  at the camera\n\n[2s] she turns\naround"
    assert parse_timed_prompt(text) == [(0.0, "a woman waves at the camera"), (2.0, "she turns around")]


def test_text_before_the_first_timestamp_applies_from_zero():
    assert parse_timed_prompt("a dancer\non a stage\n[3s] she bows") == [(0.0, "a dancer on a stage"), (3.0, "she bows")]


def test_a_late_first_timestamp_also_covers_the_start():
    assert parse_timed_prompt("[2s] waves\n[4s] bows") == [(0.0, "waves"), (4.0, "bows")]


def test_timestamp_text_may_start_on_the_next_line():
    assert parse_timed_prompt("[0s]\nwaves\n[1s] bows") == [(0.0, "waves"), (1.0, "bows")]


def test_bracketed_words_are_prompt_text():
    assert parse_timed_prompt("[3D render] a robot") == [(0.0, "[3D render] a robot")]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("  \n \n", "empty"),
        ("[0s] waves\n[2s]", "[2s]"),
        ("[0s]   \n[2s] bows", "[0s]"),
        ("[1s] a\n[1.0 s] b", "Two prompts start at 1 s"),
        ("intro\n[0s] waves", "above the first timestamp"),
        ("[1:75] waves", "seconds below 60"),
        ("[0-2s] waves", "[0-2s]"),
        ("[2s: waves]", "[2s: waves]"),
    ],
)
def test_clear_errors(text, words):
    with pytest.raises(BadSettings) as info:
        parse_timed_prompt(text)
    assert words in str(info.value)


def test_each_section_gets_the_prompt_in_force_at_its_start():
    text = "[0s] waves\n[1.2s] turns\n[3s] bows"
    starts = [0.0, 36 / 30, 72 / 30, 108 / 30]  # 1.2000000000000002 must still meet [1.2s]
    assert prompts_for_sections(text, starts) == ["waves", "turns", "turns", "bows"]


def test_sections_before_a_late_first_timestamp_use_it():
    assert prompts_for_sections("[2s] waves\n[4s] bows", [0.0, 1.2, 2.4, 3.6, 4.8]) == [
        "waves",
        "waves",
        "waves",
        "waves",
        "bows",
    ]


def test_overrides_replace_a_sections_prompt():
    text = "[0s] waves\n[2s] bows"
    assert prompts_for_sections(text, [0.0, 1.2, 2.4], {1: " jumps ", 2: "  "}) == ["waves", "jumps", "bows"]


def test_overrides_may_stand_in_for_an_empty_prompt():
    assert prompts_for_sections("", [0.0, 1.2], {0: "a", 1: "b"}) == ["a", "b"]
    with pytest.raises(BadSettings, match="section 1 has no prompt"):
        prompts_for_sections(" ", [0.0, 1.2], {0: "a"})


def test_override_for_a_missing_section_is_reported():
    with pytest.raises(BadSettings, match="section 5"):
        prompts_for_sections("waves", [0.0, 1.2], {5: "bows"})


def test_prompts_do_not_load_torch():
    """The UI previews the prompt of each section with this module and must stay free of torch."""
    code = "import sys, framepack_desktop.engine.sampling.prompts; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
