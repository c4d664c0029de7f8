"""Session ▸ Save / Open, autosave with crash recovery, and File ▸ Score a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from ..core import GMMStudioError
from ..core.analysis.anomalies import flag
from ..core.analysis.scoring import log_density
from ..core.data.dataset import file_sha256, load_dataset
from ..core.files.atomic import write_csv
from ..core.files.labels import labelled_frame
from ..core.files.session_file import SUFFIX, Session, load_session, save_session

SESSION_FILTER = f"GMM Studio session (*{SUFFIX})"


def autosave_interval_ms() -> int:
    """$GMM_STUDIO_AUTOSAVE_MS or one minute."""
    value = os.environ.get("GMM_STUDIO_AUTOSAVE_MS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 60_000


class Sessions(QObject):
    """Session files, autosave with crash recovery, and scoring another file."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.autosave_path = Path(self.w.settings.fileName()).parent / f"autosave{SUFFIX}"
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(autosave_interval_ms())

    def offer_restore(self) -> None:
        """After a crash or a kill, offer the autosaved session (non-modal)."""
        if self.autosave_path.exists():
            self.w.messages.show_messages(
                "info", ["GMM Studio did not close cleanly last time. "
                         "Restore the session it saved automatically?"],
                action=("Restore", lambda: self.open_session(self.autosave_path)))

    def autosave(self) -> None:
        """Write the current session to the autosave file (silently)."""
        session = self.current_session()
        if session is not None:
            with contextlib.suppress(GMMStudioError, OSError):  # never interrupt the user
                save_session(self.autosave_path, session)

    def _discard_autosave(self) -> None:
        self.autosave_path.unlink(missing_ok=True)

    def current_session(self) -> Session | None:
        """The window's state as a Session (None without data)."""
        if self.w.dataset is None or self.w.data_ref is None:
            return None
        saved = self.w.exports.saved_model()
        dp = self.w.data_panel
        columns = {"features": list(self.w.dataset.feature_names), "label": dp.label_column(),
                   "weights": self.w.dataset.weight_column,
                   "standardize": dp.standardize.isChecked()}
        view = {"x": dp.x_box.currentText(), "y": dp.y_box.currentText(), "axes": dp.axes(),
                "tab": self.w.tabs.currentIndex()}
        return Session(dict(self.w.data_ref), columns, self.w.fit_panel.config(), saved,
                       self.w.threshold, view)

    def save_session_dialog(self) -> None:
        """Session ▸ Save."""
        session = self.current_session()
        if session is None:
            self.w.messages.show_messages("info", ["open a data set first."])
            return
        path = self.w.ask_save_path("Save session", SESSION_FILTER, f"analysis{SUFFIX}")
        if path:
            try:
                save_session(path, session)
            except GMMStudioError as exc:
                self.w.messages.show_messages("error", [str(exc)])
                return
            self.w.messages.show_messages("info", [f"saved session {path}"])

    def open_session_dialog(self) -> None:
        """Session ▸ Open."""
        folder = self.w.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.w, "Open session", folder, SESSION_FILTER)
        if path:
            self.open_session(path)

    def open_session(self, path, data_path: str | None = None) -> bool:
        """Restore a session without refitting; ask to locate a moved data file."""
        try:
            session = load_session(path)
        except GMMStudioError as exc:
            self.w.messages.show_messages("error", [str(exc)])
            return False
        notes = []
        ref = session.data
        if "sample" in ref:
            opened = self.w.open_sample(ref["sample"])
        elif "generated" in ref:
            self.w.open_generated(ref["generated"])
            opened = True
        else:
            target = data_path or ref.get("path") or ""
            if not Path(target).exists():
                self.w.messages.show_messages(
                    "error", [f"the session's data file {target} was moved or deleted."],
                    action=("Locate…", lambda: self._locate(path, Path(target).name)))
                return False
            opened = self.w.open_path(target, background=False)
            if opened and ref.get("sha256") and file_sha256(target) != ref["sha256"]:
                notes.append(f"{Path(target).name} changed since the session was saved; "
                             "the model is restored as it was, refit to update it.")
        if not opened:
            return False
        self._apply_session(session)
        self.w.messages.show_messages("warning" if notes else "info",
                                    notes or [f"restored session {Path(path).name}"])
        return True

    def _locate(self, session_path, name: str) -> None:
        folder = self.w.settings.value("files/last_folder", str(Path.home()))
        found, _ = QFileDialog.getOpenFileName(self.w, f"Locate {name}", folder)
        if found:
            self.open_session(session_path, data_path=found)

    def _apply_session(self, session: Session) -> None:
        dp, cols = self.w.data_panel, session.columns
        prep = session.saved_model.preprocessing if session.saved_model else None
        dp.blockSignals(True)
        dp.set_checked(cols["features"])
        if cols.get("label"):
            dp.label_box.setCurrentText(cols["label"])
        dp.standardize.setChecked(bool(cols.get("standardize")))
        dp.blockSignals(False)
        self.w._rebuild_dataset(preprocessing=prep)
        dp.x_box.setCurrentText(session.view.get("x", ""))
        dp.y_box.setCurrentText(session.view.get("y", ""))
        index = dp.axes_box.findData(session.view.get("axes", "features"))
        dp.axes_box.setCurrentIndex(max(index, 0))
        self.w.fit_panel.set_config(session.config)
        if session.saved_model is not None and self.w.dataset is not None:
            self.w.state.set_model(session.saved_model.model, self.w.dataset.data_id)
            self.w.threshold = session.threshold
            self.w._redraw_data()
            self.w.linked.model_settled(session.threshold)
            self.w._set_status("session restored — model as saved, not refitted")
        tab = session.view.get("tab")
        if isinstance(tab, int) and 0 <= tab < self.w.tabs.count():
            self.w.tabs.setCurrentIndex(tab)

    def score_file_dialog(self) -> None:
        """File ▸ Score a file with the current model."""
        if self.w.model is None or self.w.dataset is None:
            self.w.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        folder = self.w.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.w, "Score a file", folder)
        if path:
            self.score_file(path)

    def score_file(self, path: str) -> None:
        """Apply the model to ``path`` (same columns) and save its labels and flags."""
        try:
            data = load_dataset(path, list(self.w.dataset.feature_names),
                                preprocessing=self.w.dataset.preprocessing)
        except GMMStudioError as exc:
            self.w.messages.show_messages("error", [f"could not score {Path(path).name}: {exc}"])
            return
        frame = labelled_frame(data, self.w.model)
        flagged = np.zeros(len(frame), dtype=bool)
        if self.w.threshold is not None:
            flagged = flag(log_density(data, self.w.model), self.w.threshold)
        frame["anomaly"] = flagged
        out = self.w.ask_save_path("Save scored rows", "CSV (*.csv)",
                                  f"{Path(path).stem}-scored.csv")
        if not out:
            return
        try:
            write_csv(out, frame, protect=[path])
        except GMMStudioError as exc:
            self.w.messages.show_messages("error", [str(exc)])
            return
        self.w.messages.show_messages("info", [
            f"scored {data.n_rows} rows of {Path(path).name} ({data.n_dropped} dropped): "
            f"{int(flagged.sum())} flagged as anomalies; wrote {out}"])
