"""Actions, menus and shortcuts of the main window."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from ..core.data.samples import GENERATED
from ..core.teaching.lectures import LECTURES
from .animation import export_animation

SAMPLES = {"Old Faithful": "old_faithful.csv", "Iris": "iris.csv",
           "Wine (13 features)": "wine.csv"}


def _action(window: QMainWindow, text: str, slot, shortcut: str | None = None) -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


def build_menus(window) -> dict[str, QAction]:
    """Create the menu bar of ``window`` (a MainWindow); returns the actions by name."""
    bar = window.menuBar()
    acts: dict[str, QAction] = {}
    file_menu = bar.addMenu("&File")
    acts["open"] = _action(window, "&Open…", window.open_dialog, "Ctrl+O")
    file_menu.addAction(acts["open"])
    acts["open_cluster"] = _action(window, "Open on the &cluster…", window.cluster.open_dialog)
    file_menu.addAction(acts["open_cluster"])
    samples = file_menu.addMenu("&Samples")
    for title, name in SAMPLES.items():
        samples.addAction(_action(window, title, lambda n=name: window.open_sample(n)))
    samples.addSeparator()
    for key, title in GENERATED.items():
        samples.addAction(_action(window, title, lambda k=key: window.open_generated(k)))
    lectures = samples.addMenu("&Lecture examples")
    for key, make in LECTURES.items():
        lectures.addAction(_action(window, make().title, lambda k=key: window.open_generated(k)))
    window.recent_menu = file_menu.addMenu("&Recent")
    acts["score"] = _action(window, "S&core a file with the current model…",
                            window.sessions.score_file_dialog)
    file_menu.addAction(acts["score"])
    export = file_menu.addMenu("&Export")
    acts["export_labels"] = _action(window, "&Labels CSV…", window.exports.export_labels, "Ctrl+E")
    acts["export_model"] = _action(window, "&Model JSON…", window.exports.export_model)
    acts["export_plot"] = _action(window, "&Plot PNG…", window.exports.export_plot)
    acts["export_anomalies"] = _action(window, "&Anomalies CSV…", window.linked.export_anomalies)
    acts["export_animation"] = _action(window, "Anima&tion GIF / MP4…",
                                       lambda: export_animation(window))
    for key in ("export_labels", "export_model", "export_plot", "export_anomalies",
                "export_animation"):
        export.addAction(acts[key])
    session = file_menu.addMenu("Sessio&n")
    acts["save_session"] = _action(window, "&Save session…", window.sessions.save_session_dialog,
                                   "Ctrl+S")
    acts["open_session"] = _action(window, "&Open session…", window.sessions.open_session_dialog)
    session.addAction(acts["save_session"])
    session.addAction(acts["open_session"])
    file_menu.addSeparator()
    acts["quit"] = _action(window, "&Quit", window.close, "Ctrl+Q")
    file_menu.addAction(acts["quit"])

    fit_menu = bar.addMenu("F&it")
    acts["run"] = _action(window, "&Run", window.run_fit, "Ctrl+R")
    acts["step"] = _action(window, "&Step (E, then M)", window.step, "Space")
    acts["stop"] = _action(window, "S&top", window.stop_fit, "Esc")
    acts["reset"] = _action(window, "R&eset", window.reset)
    for key in ("run", "step", "stop", "reset"):
        fit_menu.addAction(acts[key])
    fit_menu.addSeparator()
    acts["dask"] = _action(window, "Dask &scheduler…", window.cluster.set_address_dialog)
    fit_menu.addAction(acts["dask"])

    window.view_menu = bar.addMenu("&View")
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "&About GMM Studio", window.about))
    return acts


def fill_recent(menu: QMenu, paths: list[str], open_path) -> None:
    """Rebuild the Recent menu from ``paths`` (newest first)."""
    menu.clear()
    for path in paths:
        action = menu.addAction(path)
        action.triggered.connect(lambda _checked=False, p=path: open_path(p))
    menu.setEnabled(bool(paths))
