"""resources/ (top level): icons, the style sheet, the Linux .desktop file, compiled into a Qt
resource module that the wheel and the installer carry as plain Python."""
import configparser
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from framepack_desktop.ui.theme import resource_text

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
REBUILD = "cd resources && pyside6-rcc --format-version 1 --no-compress resources.qrc -o ../framepack_desktop/ui/resources_rc.py"


def listed() -> list[str]:
    return [f.text for f in ET.parse(RESOURCES / "resources.qrc").getroot().iter("file")]


def test_the_qrc_lists_every_icon_and_style_sheet():
    on_disk = sorted(p.relative_to(RESOURCES).as_posix() for folder in ("icons", "style")
                     for p in (RESOURCES / folder).rglob("*") if p.is_file())
    assert sorted(listed()) == on_disk, f"update resources/resources.qrc, then: {REBUILD}"


def test_the_compiled_resource_module_is_current():
    for name in listed():
        assert resource_text(name) == (RESOURCES / name).read_text(encoding="utf-8"), f"{name} changed: {REBUILD}"


def test_the_linux_desktop_file_starts_the_installed_app():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(RESOURCES / "framepack-desktop.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    gui_scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["gui-scripts"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] in gui_scripts
    assert desktop["Icon"] == "framepack-desktop" and (RESOURCES / "icons" / "app.svg").is_file()
