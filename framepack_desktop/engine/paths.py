"""Where the app keeps its files: one `AppPaths` naming every folder it writes outside a job folder.

Its own module, importing nothing of the engine, so that the engine (the demo models' folder, the
model store, the speed caches) and the app's settings both find their folders here without the
engine importing the settings that import the engine's Job.

`FRAMEPACK_DESKTOP_HOME`, when set, puts everything under one folder (portable installs, tests);
otherwise the folders follow the platform's conventions through platformdirs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "FramePackDesktop"
HOME_ENV = "FRAMEPACK_DESKTOP_HOME"


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
    def loras_dir(self) -> Path:
        """The default LoRA folder (Settings may choose another)."""
        return self.data_dir / "loras"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "framepack-desktop.log"

    def ensure(self) -> "AppPaths":
        for d in (self.config_dir, self.data_dir, self.log_dir, self.thumbnails_dir, self.inputs_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self
