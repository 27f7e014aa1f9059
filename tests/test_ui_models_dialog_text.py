"""The models dialog shows its whole error (issue 15): a message naming a long folder or address
wraps inside the dialog instead of being cut off or widening it past the screen."""
from PySide6.QtWidgets import QApplication

from framepack_desktop.ui.models_dialog import ModelsDialog
from framepack_desktop.ui.wrapped_label import ZWSP, breakable

LONG_FOLDER = "/media/archive/" + "framepack-models-downloaded-last-week" * 4 + "/hunyuan"
LONG_ERROR = ("The download stopped: https://huggingface.co/lllyasviel/" + "FramePackI2V_HY" * 10 +
              "/resolve/main/diffusion_pytorch_model-00001-of-00003.safetensors could not be reached. Check the "
              "connection and press Continue again: what was downloaded is kept.")


def shown_whole(label, dialog):
    """The label's text fits the room it has, and that room lies inside the dialog."""
    return (label.sizeHint().width() <= dialog.width() and label.minimumSizeHint().width() <= label.width()
            and label.heightForWidth(label.width()) <= label.height()
            and label.geometry().right() <= label.parentWidget().width())


def test_a_long_folder_error_and_a_long_download_error_wrap_inside_the_dialog(qtbot, tmp_path):
    d = ModelsDialog(tmp_path / "models")
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    width = d.width()
    d.existing.setChecked(True)
    d.folder.setText(LONG_FOLDER)
    d.download_status.setText(LONG_ERROR)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: shown_whole(d.folder_status, d) and shown_whole(d.download_status, d), timeout=2000)
    assert d.width() == width                                  # taller, not wider than the screen allows
    assert LONG_FOLDER in d.folder_status.text() and d.download_status.text() == LONG_ERROR


def test_breakable_only_adds_invisible_break_points():
    text = "C:\\Users\\someone\\" + "x" * 60 + " and words"
    broken = breakable(text)
    assert broken.replace(ZWSP, "") == text
    assert max(len(run) for run in broken.replace(ZWSP, " ").split()) <= 24
