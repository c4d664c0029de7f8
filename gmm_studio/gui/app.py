"""Start the window: ``gmm-studio [DATA]``."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # pyqtgraph would prefer PyQt6

from PySide6.QtGui import QIcon  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ..core.engine.parallel import run_in_background  # noqa: E402
from . import gcguard  # noqa: E402
from .main_window import MainWindow  # noqa: E402
from .resources import sample_path  # noqa: E402


def app_icon() -> QIcon:
    """The application icon in every bundled size."""
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(sample_path(f"gmm-studio-{size}.png")))
    return icon


def create_window(argv: list[str]) -> MainWindow:
    """The main window on argv[0], or on the Old Faithful sample."""
    gcguard.install()  # Qt objects must never be collected on an engine thread
    window = MainWindow()
    window.setWindowIcon(app_icon())
    # The sample first: if DATA cannot be read, its error shows over the sample.
    window.open_sample("old_faithful.csv")
    if argv:
        if argv[0].endswith(".gmmstudio"):
            window.sessions.open_session(argv[0])
        else:
            window.open_path(argv[0])
    window.sessions.offer_restore()
    window.show()
    return window


def missing_display(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here (None when a display is there or not needed).

    Without one, Qt aborts the process (exit 134) with a message that blames
    libxcb-cursor0; saying so plainly in one line is kinder.
    """
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if not platform.startswith("linux") or chosen.split(":")[0] in ("offscreen", "minimal",
                                                                    "vnc", "eglfs", "linuxfb"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("gmm-studio: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are "
            "unset); run it in a desktop session, use the command line (gmm-studio fit DATA), "
            "or set QT_QPA_PLATFORM=offscreen.")


def main(argv: list[str] | None = None) -> int:
    """Open the window on DATA (or Old Faithful) and run the event loop."""
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = None if QApplication.instance() else missing_display()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("GMM Studio")
    app.setOrganizationName("GMM Studio")
    app.setDesktopFileName("io.github.gmm_studio.GMMStudio")
    app.setWindowIcon(app_icon())
    run_in_background()
    window = create_window(argv)
    code = app.exec()
    del window
    return code


if __name__ == "__main__":
    sys.exit(main())
