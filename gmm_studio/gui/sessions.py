"""Session ▸ Save / Open, autosave with crash recovery, and File ▸ Score a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
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


class SessionActions:
    """Mixin for the main window: sessions, autosave and scoring new files."""

    def _start_autosave(self) -> None:
        self.autosave_path = Path(self.settings.fileName()).parent / f"autosave{SUFFIX}"
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(autosave_interval_ms())

    def offer_restore(self) -> None:
        """After a crash or a kill, offer the autosaved session (non-modal)."""
        if self.autosave_path.exists():
            self.messages.show_messages(
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
        if self.dataset is None or self.data_ref is None:
            return None
        saved = self.saved_model()
        dp = self.data_panel
        columns = {"features": list(self.dataset.feature_names), "label": dp.label_column(),
                   "weights": self.dataset.weight_column,
                   "standardize": dp.standardize.isChecked()}
        view = {"x": dp.x_box.currentText(), "y": dp.y_box.currentText(),
                "tab": self.tabs.currentIndex()}
        return Session(dict(self.data_ref), columns, self.fit_panel.config(), saved,
                       self.threshold, view)

    def save_session_dialog(self) -> None:
        """Session ▸ Save."""
        session = self.current_session()
        if session is None:
            self.messages.show_messages("info", ["open a data set first."])
            return
        path = self._ask_save_path("Save session", SESSION_FILTER, f"analysis{SUFFIX}")
        if path:
            try:
                save_session(path, session)
            except GMMStudioError as exc:
                self.messages.show_messages("error", [str(exc)])
                return
            self.messages.show_messages("info", [f"saved session {path}"])

    def open_session_dialog(self) -> None:
        """Session ▸ Open."""
        folder = self.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open session", folder, SESSION_FILTER)
        if path:
            self.open_session(path)

    def open_session(self, path, data_path: str | None = None) -> bool:
        """Restore a session without refitting; ask to locate a moved data file."""
        try:
            session = load_session(path)
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return False
        notes = []
        ref = session.data
        if "sample" in ref:
            opened = self.open_sample(ref["sample"])
        elif "generated" in ref:
            self.open_generated(ref["generated"])
            opened = True
        else:
            target = data_path or ref.get("path") or ""
            if not Path(target).exists():
                self.messages.show_messages(
                    "error", [f"the session's data file {target} was moved or deleted."],
                    action=("Locate…", lambda: self._locate(path, Path(target).name)))
                return False
            opened = self.open_path(target, background=False)
            if opened and ref.get("sha256") and file_sha256(target) != ref["sha256"]:
                notes.append(f"{Path(target).name} changed since the session was saved; "
                             "the model is restored as it was, refit to update it.")
        if not opened:
            return False
        self._apply_session(session)
        self.messages.show_messages("warning" if notes else "info",
                                    notes or [f"restored session {Path(path).name}"])
        return True

    def _locate(self, session_path, name: str) -> None:
        folder = self.settings.value("files/last_folder", str(Path.home()))
        found, _ = QFileDialog.getOpenFileName(self, f"Locate {name}", folder)
        if found:
            self.open_session(session_path, data_path=found)

    def _apply_session(self, session: Session) -> None:
        dp, cols = self.data_panel, session.columns
        prep = session.saved_model.preprocessing if session.saved_model else None
        dp.blockSignals(True)
        dp.set_checked(cols["features"])
        if cols.get("label"):
            dp.label_box.setCurrentText(cols["label"])
        dp.standardize.setChecked(bool(cols.get("standardize")))
        dp.blockSignals(False)
        self._rebuild_dataset(preprocessing=prep)
        dp.x_box.setCurrentText(session.view.get("x", ""))
        dp.y_box.setCurrentText(session.view.get("y", ""))
        self.fit_panel.set_config(session.config)
        if session.saved_model is not None and self.dataset is not None:
            self.state.set_model(session.saved_model.model, self.dataset.data_id)
            self.threshold = session.threshold
            self._redraw_data()
            self._model_settled(session.threshold)
            self._set_status("session restored — model as saved, not refitted")
        tab = session.view.get("tab")
        if isinstance(tab, int) and 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    def score_file_dialog(self) -> None:
        """File ▸ Score a file with the current model."""
        if self.model is None or self.dataset is None:
            self.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        folder = self.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Score a file", folder)
        if path:
            self.score_file(path)

    def score_file(self, path: str) -> None:
        """Apply the model to ``path`` (same columns) and save its labels and flags."""
        try:
            data = load_dataset(path, list(self.dataset.feature_names),
                                preprocessing=self.dataset.preprocessing)
        except GMMStudioError as exc:
            self.messages.show_messages("error", [f"could not score {Path(path).name}: {exc}"])
            return
        frame = labelled_frame(data, self.model)
        flagged = np.zeros(len(frame), dtype=bool)
        if self.threshold is not None:
            flagged = flag(log_density(data, self.model), self.threshold)
        frame["anomaly"] = flagged
        out = self._ask_save_path("Save scored rows", "CSV (*.csv)",
                                  f"{Path(path).stem}-scored.csv")
        if not out:
            return
        try:
            write_csv(out, frame, protect=[path])
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        self.messages.show_messages("info", [
            f"scored {data.n_rows} rows of {Path(path).name} ({data.n_dropped} dropped): "
            f"{int(flagged.sum())} flagged as anomalies; wrote {out}"])
