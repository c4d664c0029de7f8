"""Linked views: anomalies, the data table and the main plot select together."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer

from ..core.analysis.anomalies import anomaly_frame
from ..core.analysis.scoring import score_rows
from ..core.files.atomic import write_csv
from ..core.text import plural
from .controller import JobController


class LinkedViews(QObject):
    """Anomalies, Table and the main plot select together; rows are scored off the GUI thread."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        # Scoring every row is O(N K D): it runs off the GUI thread.
        self.scorer = JobController(self)
        self.scorer.finished.connect(self._scored)
        self._pending_threshold = None
        self._linked_stale = True  # the tabs have not scored the model on screen yet
        av, tv, plot = self.w.anomaly_view, self.w.table_view, self.w.plot
        av.threshold_changed.connect(self._threshold_changed)
        av.row_selected.connect(self._select_one)
        av.export_requested.connect(self.export_anomalies)
        tv.rows_selected.connect(plot.set_selected)
        plot.point_clicked.connect(self._select_one)
        plot.rows_boxed.connect(self._boxed)
        self.w.pairs_view.rows_boxed.connect(self._boxed)
        tv.rows_selected.connect(self.w.pairs_view.set_selected)

    def model_settled(self, threshold=None) -> None:
        """A model is final (fit done, M-step, session restored).

        Scoring every row is costly with big data, so the Anomalies and Table
        tabs refresh when shown (or now, when a restored threshold must show).
        """
        self._linked_stale = True
        if threshold is not None or self.w.tabs.currentWidget() in (self.w.anomaly_view,
                                                                  self.w.table_view):
            self.refresh_linked(threshold)
        else:
            self.w.plot.set_flagged([])

    def refresh_linked(self, threshold=None) -> None:
        """Score every row for the Anomalies and Table tabs if the model changed."""
        if not self._linked_stale:
            return
        self._linked_stale = False
        dataset, model = self.w.dataset, self.w.model
        if dataset is None or model is None:
            self.scorer.discard()
            self._show_scores(dataset, None, None, None)
            return
        self._pending_threshold = threshold or self.w.threshold
        # Until the scores arrive the tabs show the bare rows, never another model's.
        self.w.anomaly_view.show_pending()
        self.w.table_view.set_model(dataset, None)
        self.w.table_view.count.setText("scoring rows…")
        self.scorer.start(lambda _cancel, _report: score_rows(dataset, model),
                          tag=(dataset.data_id, model))

    def _scored(self, scores) -> None:
        data_id, model = self.scorer.tag or (None, None)
        if not self.w.state.belongs(data_id) or model is not self.w.model:
            return  # scores of a model or data no longer on screen
        self._show_scores(self.w.dataset, model, scores, self._pending_threshold)

    def _show_scores(self, dataset, model, scores, threshold) -> None:
        self.w.table_view.set_model(dataset, model, scores)
        if scores is None:
            self._show_anomalies(dataset, model, scores, threshold)
            return
        # The anomaly view gets its own turn of the event loop: with millions
        # of rows, both in one go stalled the window for over 100 ms.
        QTimer.singleShot(0, lambda: self._show_anomalies(dataset, model, scores, threshold))

    def _show_anomalies(self, dataset, model, scores, threshold) -> None:
        if dataset is not self.w.dataset or model is not self.w.model:
            return  # superseded while waiting for its turn
        self.w.anomaly_view.set_model(dataset, model, threshold, scores)
        self.w.table_view.set_flagged(self.w.anomaly_view.flagged_positions())

    def _threshold_changed(self, threshold) -> None:
        self.w.threshold = threshold
        flagged = self.w.anomaly_view.flagged_positions()
        self.w.plot.set_flagged(flagged)
        self.w.table_view.set_flagged(flagged)

    def _select_one(self, position: int) -> None:
        self.w.plot.set_selected(np.array([position]))
        self.w.pairs_view.set_selected(np.array([position]))
        self.w.anomaly_view.select_position(position)
        self.w.table_view.select_position(position)
        row = self.w.dataset.rows[position] + 1 if self.w.dataset is not None else position + 1
        self.w._set_status(f"row {row} selected")

    def _boxed(self, positions: np.ndarray) -> None:
        self.w.plot.set_selected(positions)
        self.w.pairs_view.set_selected(positions)
        self.w.table_view.set_selection(positions)
        self.w.tabs.setCurrentWidget(self.w.table_view)
        self.w._set_status(f"{plural(len(positions), 'row')} selected in the box")

    def export_anomalies(self) -> None:
        """Anomalies ▸ Export flagged rows (most anomalous first)."""
        if self.w.threshold is None:
            self.w.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        dataset, model, threshold = self.w.dataset, self.w.model, self.w.threshold
        scores, source = self.w.anomaly_view.scores, self.w.source or ""
        by_noise = self.w.anomaly_view.noise_mode
        self.w.exports._export("Export anomalies", "CSV (*.csv)", "anomalies.csv",
                     lambda p: write_csv(p, anomaly_frame(dataset, model, threshold, scores,
                                                          by_noise=by_noise),
                                         protect=[source]), background=True)
