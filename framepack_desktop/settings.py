"""Where the app keeps its files, and what it remembers between runs.

One `AppPaths` names every folder and file the app writes outside a job folder (settings, the
queue, history, logs, default outputs and models). Everything is plain JSON written atomically,
so a crash mid-write never leaves a half file that stops the next start. No Qt here: the CLI and
the tests use the same paths and files as the window.

The folders themselves are named in `engine/paths.py` (`AppPaths`), which the engine uses too.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.errors import BadSettings
from .engine.job import Job
from .engine.paths import AppPaths

THEMES = ("system", "dark", "light")

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """The user's choices that outlive a session. `ui_state` holds opaque window state strings."""
    theme: str = "system"
    models_dir: str = ""            # "" until the first-start dialog chose; "demo" for the demo set
    output_dir: str = ""            # "" = AppPaths.outputs_dir
    random_seed: bool = True
    lora_dir: str = ""              # "" = AppPaths.loras_dir
    frame_budget_gb: float = 20.0   # disk for the frame stores of finished videos (oldest dropped first)
    last_job: dict[str, Any] = field(default_factory=dict)
    ui_state: dict[str, str] = field(default_factory=dict)

    @property
    def models_chosen(self) -> bool:
        return bool(self.models_dir)

    def output_folder(self, paths: AppPaths) -> Path:
        return Path(self.output_dir) if self.output_dir else paths.outputs_dir

    def lora_folder(self, paths: AppPaths) -> Path:
        return Path(self.lora_dir).expanduser() if self.lora_dir else paths.loras_dir


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see either the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any | None:
    """The file's JSON, or None when it is missing or unreadable (kept aside as *.bad)."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        bad = path.with_suffix(path.suffix + ".bad")
        log.warning("%s is unreadable (%s); moved to %s and starting fresh", path, e, bad)
        os.replace(path, bad)
        return None


def _text_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


# What each setting must be; a value that is not is logged (one line) and its default used.
_SETTING_KINDS = {
    "theme": (lambda v: v in THEMES, "one of " + ", ".join(THEMES)),
    "models_dir": (lambda v: isinstance(v, str), "text"),
    "output_dir": (lambda v: isinstance(v, str), "text"),
    "random_seed": (lambda v: isinstance(v, bool), "true or false"),
    "last_job": (lambda v: isinstance(v, dict), "a job (a JSON object)"),
    "ui_state": (_text_map, "a mapping of names to text"),
    "lora_dir": (lambda v: isinstance(v, str), "text"),
    "frame_budget_gb": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6,
                        "a number of GB, 0 or more"),
}


def load_settings(paths: AppPaths) -> Settings:
    """The saved settings, read strictly: each unknown or wrong value is logged on its own line and
    left at its default, so one bad value never costs the others (or the start)."""
    data = _read_json(paths.settings_file)
    if not isinstance(data, dict):
        if data is not None:
            log.warning("%s holds %s, not settings: starting with the defaults", paths.settings_file,
                        type(data).__name__)
        return Settings()
    kept = {}
    for name, value in data.items():
        if name not in _SETTING_KINDS:
            log.warning("%s: unknown setting '%s' ignored", paths.settings_file, name)
            continue
        check, wanted = _SETTING_KINDS[name]
        if check(value):
            kept[name] = value
        else:
            log.warning("%s: '%s' must be %s, not %s: using the default", paths.settings_file, name, wanted,
                        json.dumps(value)[:60])
    return Settings(**kept)


def save_settings(paths: AppPaths, settings: Settings) -> None:
    write_json_atomic(paths.settings_file, dataclasses.asdict(settings))


def load_queue(paths: AppPaths) -> list[Job]:
    """Jobs waiting to run. A job this version cannot read is logged and dropped, not fatal."""
    data = _read_json(paths.queue_file)
    jobs: list[Job] = []
    for entry in data if isinstance(data, list) else []:
        try:
            jobs.append(Job.from_dict(entry))
        except (BadSettings, TypeError, ValueError, AttributeError) as e:
            log.warning("dropping unreadable queued job %r: %s", entry, e)
    return jobs


def save_queue(paths: AppPaths, jobs: list[Job]) -> None:
    write_json_atomic(paths.queue_file, [j.to_dict() for j in jobs])


def running_file(paths: AppPaths) -> Path:
    """The job the window was running: still there at the next start means it was interrupted."""
    return paths.queue_file.with_name("running.json")


def load_running(paths: AppPaths) -> Job | None:
    data = _read_json(running_file(paths))
    if not isinstance(data, dict):
        return None
    try:
        return Job.from_dict(data)
    except (BadSettings, TypeError, ValueError, AttributeError) as e:
        log.warning("dropping the unreadable interrupted job %r: %s", data, e)
        return None


def save_running(paths: AppPaths, job: Job | None) -> None:
    write_json_atomic(running_file(paths), job.to_dict() if job is not None else None)


@dataclass(frozen=True)
class HistoryEntry:
    video: str
    job_json: str
    thumbnail: str          # PNG path, "" when none could be made
    num_frames: int
    seconds: float          # generation wall time
    finished_at: float = field(default_factory=time.time)
    cancelled: bool = False
    source: str = ""        # the video this one was finished from (Finish panel); "" for a generation


def load_history(paths: AppPaths) -> list[HistoryEntry]:
    data = _read_json(paths.history_file)
    known = {f.name for f in dataclasses.fields(HistoryEntry)}
    out = []
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and {"video", "job_json", "thumbnail", "num_frames", "seconds"} <= set(entry):
            out.append(HistoryEntry(**{k: v for k, v in entry.items() if k in known}))
    return out


def save_history(paths: AppPaths, entries: list[HistoryEntry]) -> None:
    write_json_atomic(paths.history_file, [dataclasses.asdict(e) for e in entries])


def models_folder(spec: str | None) -> Path:
    """`--models`, else the settings' choice, else the app's default models folder."""
    from .engine.models.loader import demo_models_dir

    paths = AppPaths.default()
    spec = spec or load_settings(paths).models_dir
    if not spec:
        return paths.models_dir
    return demo_models_dir() if spec.strip().lower() == "demo" else Path(spec).expanduser()


def lora_folders() -> list[Path]:
    """Where LoRA files are looked for: the LoRA folder of the settings (default: the app's data folder)."""
    paths = AppPaths.default()
    return [load_settings(paths).lora_folder(paths)]
