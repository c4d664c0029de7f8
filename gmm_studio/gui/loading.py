"""Opening big files in the background, with a progress dialog and Cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QProgressDialog

from ..core.data.chunked import read_table_chunked
from .controller import JobController

# Files above this size load in the background; smaller ones load at once.
BACKGROUND_BYTES = 16 * 1024 * 1024


class BackgroundLoader(QObject):
    """Big files load in the background, with progress and Cancel."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.loader = JobController(self)
        self.loader.progress.connect(self._load_progress)
        self.loader.finished.connect(self._load_finished)
        self.loader.failed.connect(self._load_failed)
        self.load_dialog: QProgressDialog | None = None
        self._loading: tuple[str, bool] | None = None

    def is_big(self, path) -> bool:
        """True when ``path`` should load in the background."""
        try:
            return Path(path).stat().st_size > BACKGROUND_BYTES
        except OSError:
            return False

    def load_in_background(self, path, remember: bool) -> None:
        """Read ``path`` in chunks off the GUI thread; the current data stays until done."""
        self._loading = (str(path), remember)
        dialog = QProgressDialog(f"Reading {Path(path).name}…", "Cancel", 0, 100, self.w)
        dialog.setWindowTitle("Opening data")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(lambda: self.loader.stop())
        self.load_dialog = dialog
        dialog.show()

        def job(cancel, report):
            return read_table_chunked(path, cancel, report)

        self.loader.start(job)

    def _load_progress(self, fraction: float) -> None:
        if self.load_dialog is not None:
            self.load_dialog.setValue(int(100 * fraction))

    def _close_dialog(self) -> None:
        if self.load_dialog is not None:
            self.load_dialog.reset()
            self.load_dialog.deleteLater()
            self.load_dialog = None

    def _load_finished(self, outcome) -> None:
        self._close_dialog()
        frame, sha = outcome
        path, remember = self._loading
        self.w._accept_table(path, frame, sha, remember)

    def _load_failed(self, message: str) -> None:
        self._close_dialog()
        level = "info" if "cancelled" in message else "error"
        self.w.messages.show_messages(level, [message])
