"""Where the app keeps its files, and what it remembers between runs.

One `AppPaths` names every folder and file the app writes outside a job folder (settings, the
queue, history, logs, default outputs and models). Everything is plain JSON written atomically,
so a crash mid-write never leaves a half file that stops the next start. No Qt here: the CLI and
the tests use the same paths and files as the window.

`FRAMEPACK_DESKTOP_HOME`, when set, puts everything under one folder (portable installs, tests);
otherwise the folders follow the platform's conventions through platformdirs.
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

import platformdirs

from .engine.errors import BadSettings
from .engine.job import Job

APP_NAME = "FramePackDesktop"
HOME_ENV = "FRAMEPACK_DESKTOP_HOME"
THEMES = ("system", "dark", "light")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    outputs_dir: Path
    models_dir: Path

    @classmethod
    def default(cls) -> "AppPaths":
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            config_dir=Path(dirs.user_config_dir),
            data_dir=Path(dirs.user_data_dir),
            log_dir=Path(dirs.user_log_dir),
            outputs_dir=Path(platformdirs.user_videos_dir()) / APP_NAME,
            models_dir=Path(dirs.user_data_dir) / "models",
        )

    @classmethod
    def under(cls, root: Path) -> "AppPaths":
        """Everything in one folder: a portable install or a test's temporary directory."""
        root = Path(root)
        return cls(root / "config", root / "data", root / "logs", root / "outputs", root / "models")

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def queue_file(self) -> Path:
        return self.data_dir / "queue.json"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.json"

    @property
    def thumbnails_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def inputs_dir(self) -> Path:
        """Images pasted or dropped from a browser have no file: they are saved here."""
        return self.data_dir / "inputs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "framepack-desktop.log"

    def ensure(self) -> "AppPaths":
        for d in (self.config_dir, self.data_dir, self.log_dir, self.thumbnails_dir, self.inputs_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


@dataclass
class Settings:
    """The user's choices that outlive a session. `ui_state` holds opaque window state strings."""
    theme: str = "system"
    models_dir: str = ""            # "" until the first-start dialog chose; "demo" for the demo set
    output_dir: str = ""            # "" = AppPaths.outputs_dir
    random_seed: bool = True
    last_job: dict[str, Any] = field(default_factory=dict)
    ui_state: dict[str, str] = field(default_factory=dict)

    @property
    def models_chosen(self) -> bool:
        return bool(self.models_dir)

    def output_folder(self, paths: AppPaths) -> Path:
        return Path(self.output_dir) if self.output_dir else paths.outputs_dir


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


def load_settings(paths: AppPaths) -> Settings:
    data = _read_json(paths.settings_file)
    if not isinstance(data, dict):
        return Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    s = Settings(**{k: v for k, v in data.items() if k in known})
    if s.theme not in THEMES:
        s.theme = "system"
    return s


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
