"""First-start models dialog, the memory meter, themes, display scaling, and run_gui itself."""
import gc
import sys

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from framepack_desktop.engine.telemetry import GIB, Telemetry
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui import theme
from framepack_desktop.ui.main_window import MainWindow, run_gui
from framepack_desktop.ui.models_dialog import DEMO_WARNING, ModelsDialog, find_downloader
from framepack_desktop.ui.vram_meter import MemoryMeter


def ok_button(d):
    return d.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_models_dialog_offers_demo_clearly_labelled(qtbot, tmp_path):
    d = ModelsDialog(tmp_path / "models")
    qtbot.addWidget(d)
    assert "noise" in d.demo.text() and "noise" in DEMO_WARNING and "random weights" in DEMO_WARNING
    assert d.download.isEnabled() == (find_downloader() is not None)
    d.demo.setChecked(True)
    ok_button(d).click()
    assert d.choice == "demo" and d.result() == d.DialogCode.Accepted


def test_models_dialog_preselects_the_download_only_where_a_gpu_can_use_it(qtbot, tmp_path):
    with_gpu, cpu_only = ModelsDialog(tmp_path / "m", gpu=True), ModelsDialog(tmp_path / "m", gpu=False)
    qtbot.addWidget(with_gpu)
    qtbot.addWidget(cpu_only)
    assert with_gpu.download.isChecked() == (find_downloader() is not None)
    assert cpu_only.demo.isChecked() and not cpu_only.download.isChecked()


def test_models_dialog_checks_a_chosen_folder(qtbot, tmp_path, demo_models):
    d = ModelsDialog(tmp_path / "models")
    qtbot.addWidget(d)
    d.existing.setChecked(True)
    d.folder.setText(str(tmp_path))                      # an empty folder
    assert "No FramePack models" in d.folder_status.text() and not ok_button(d).isEnabled()
    d.folder.setText(str(demo_models))
    assert d.folder_status.text() == "Models found." and ok_button(d).isEnabled()
    ok_button(d).click()
    assert d.choice == str(demo_models)


class FixedSampler:
    """Plain readings, as NVML would report them on a 24 GB card."""

    def __init__(self, t):
        self.t = t

    def sample(self):
        return self.t


def test_memory_meter_shows_gpu_and_app_share_or_says_cpu(qtbot):
    gpu = Telemetry("NVIDIA RTX 4090", 5 * GIB, 24 * GIB, 4 * GIB, 3 * GIB, 12 * GIB, 32 * GIB, 2 * GIB, "nvml")
    m = MemoryMeter(FixedSampler(gpu))
    qtbot.addWidget(m)
    assert m.timer.interval() == 1000 and m.timer.isActive()
    assert m.device.text() == "NVIDIA RTX 4090" and m.vram.text() == "VRAM 5.0 / 24.0 GB (app 4.0)"
    assert (round(m.vram_bar.used, 3), round(m.vram_bar.app, 3)) == (round(5 / 24, 3), round(4 / 24, 3))
    assert m.ram.text() == "RAM 12.0 / 32.0 GB (app 2.0)"
    m.sampler = FixedSampler(Telemetry("CPU", ram_used=GIB, ram_total=8 * GIB, app_rss=GIB))
    m.tick()
    assert m.device.text() == "CPU (no GPU)" and m.vram.isHidden()


def test_themes_restyle_the_whole_application(qtbot):
    app = QApplication.instance()
    try:
        assert theme.apply(app, "light") is theme.LIGHT
        assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.bg
        assert theme.LIGHT.accent in app.styleSheet() and theme.DARK.accent not in app.styleSheet()
        theme.apply(app, "dark")
        assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.bg
        assert theme.resolve("system") in (theme.DARK, theme.LIGHT)
    finally:
        theme.apply(app, "dark")


def test_window_fits_a_1080p_screen_at_200_percent(qtbot, tmp_path):
    """At 200 % a 1920 x 1080 screen is 960 x 540 logical pixels; the window must fit in it."""
    theme.apply(QApplication.instance(), "dark")
    w = MainWindow(AppPaths.under(tmp_path), Settings(models_dir="demo"))
    qtbot.addWidget(w)
    w.side_panel_action.setChecked(True)
    hint = w.minimumSizeHint()
    assert hint.width() <= 960 and hint.height() <= 540, hint


def test_run_gui_starts_logs_and_exits_cleanly(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path))
    paths = AppPaths.default().ensure()
    save_settings(paths, Settings(models_dir="demo", theme="dark"))
    seen = {}

    def close_it():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["title"] = windows[0].windowTitle()
        seen["hook"] = sys.excepthook
        windows[0].close()

    QTimer.singleShot(300, close_it)
    assert run_gui(["framepack-desktop"]) == 0
    assert gc.isenabled()                                     # the GC policy was undone on exit
    assert "demo" in seen["title"].lower()
    assert getattr(seen["hook"], "__self__", None).__class__.__name__ == "CrashReporter"
    assert sys.excepthook is not seen["hook"]                 # uninstalled on exit
    assert "window shown" in paths.log_file.read_text()
    assert load_settings(paths).ui_state["geometry"]          # geometry saved on close


@pytest.fixture(autouse=True)
def _restore_hooks():
    hooks = sys.excepthook
    yield
    sys.excepthook = hooks


def test_models_dialog_download_reports_progress_and_finishes(qtbot, tmp_path):
    calls = []

    def downloader(folder, variants, precision, progress, cancel):
        """Stands in for the hub: the real downloader is tested against a local fake hub elsewhere."""
        calls.append((folder, variants, precision))
        progress(50, 100, "hunyuanvideo-community/HunyuanVideo/vae/config.json")
        progress(100, 100, "done")
        return folder

    d = ModelsDialog(tmp_path / "models")
    qtbot.addWidget(d)
    d.downloader = downloader
    d.download.setEnabled(True)
    d.download.setChecked(True)
    d.with_f1.setChecked(True)
    d.fp8.setChecked(True)
    with qtbot.waitSignal(d.accepted, timeout=5000):
        ok_button(d).click()
    assert calls == [(tmp_path / "models", ("original", "f1"), "fp8")]
    assert d.choice == str(tmp_path / "models") and d.progress.value() == 1000


def test_models_dialog_download_failure_is_shown_and_the_dialog_stays(qtbot, tmp_path):
    from framepack_desktop.engine.models.errors import DownloadFailed

    def offline(folder, variants, precision, progress, cancel):
        raise DownloadFailed("Cannot reach huggingface.co: check the internet connection, then try again.")

    d = ModelsDialog(tmp_path / "models")
    qtbot.addWidget(d)
    d.show()
    d.downloader = offline
    d.download.setEnabled(True)
    d.download.setChecked(True)
    ok_button(d).click()
    qtbot.waitUntil(lambda: "Cannot reach" in d.download_status.text(), timeout=5000)
    assert d.isVisible() and d.choice == "" and ok_button(d).isEnabled()


def test_help_models_lists_components_with_sizes_verifies_and_changes_folder(qtbot, tmp_path, demo_models):
    import shutil

    paths = AppPaths.under(tmp_path / "home").ensure()
    w = MainWindow(paths, Settings(models_dir=str(demo_models)))
    qtbot.addWidget(w)
    models = w.models_window()                                   # what Help → Models opens
    rows = models.rows()
    assert rows[0][0].startswith("transformer (") and {r[0] for r in rows} >= {"vae", "image_encoder", "text_encoder"}
    assert all(r[1] == "installed" for r in rows)
    assert all(r[2] != "—" for r in rows if r[0].startswith(("transformer", "vae", "text_encoder")))
    assert "demo models" in models.folder.text()
    qtbot.mouseClick(models.verify, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: models.verify.isEnabled(), timeout=60_000)
    assert models.status.text() == "Every file checked: no problems found."

    broken = tmp_path / "broken"
    shutil.copytree(demo_models, broken)
    (broken / "hunyuanvideo-community/HunyuanVideo/vae/config.json").unlink()
    models.ask_folder = lambda: str(broken)
    qtbot.mouseClick(next(b for b in models.findChildren(type(models.verify)) if b.text() == "Choose folder…"),
                     Qt.MouseButton.LeftButton)
    assert dict((r[0], r[1]) for r in models.rows())["vae"] == "missing 1 file"
    assert w.settings.models_dir == str(broken)
    qtbot.mouseClick(models.verify, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: models.verify.isEnabled(), timeout=60_000)
    assert "problem" in models.status.text() and "vae" in models.status.text()
    models.deleteLater()
