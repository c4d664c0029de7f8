"""Linked views: anomalies, the data table and the main plot select together."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from ..core.analysis.anomalies import anomaly_frame
from ..core.analysis.scoring import score_rows
from ..core.files.atomic import write_csv
from ..core.text import plural
from .controller import JobController


class LinkedViews:
    """Mixin for the main window: wires the Anomalies and Table tabs to the plot."""

    def _link_views(self) -> None:
        # Scoring every row is O(N K D): it runs off the GUI thread.
        self.scorer = JobController(self)
        self.scorer.finished.connect(self._scored)
        self._pending_threshold = None
        av, tv, plot = self.anomaly_view, self.table_view, self.plot
        av.threshold_changed.connect(self._threshold_changed)
        av.row_selected.connect(self._select_one)
        av.export_requested.connect(self.export_anomalies)
        tv.rows_selected.connect(plot.set_selected)
        plot.point_clicked.connect(self._select_one)
        plot.rows_boxed.connect(self._boxed)

    def _model_settled(self, threshold=None) -> None:
        """A model is final (fit done, M-step, session restored).

        Scoring every row is costly with big data, so the Anomalies and Table
        tabs refresh when shown (or now, when a restored threshold must show).
        """
        self._linked_stale = True
        if threshold is not None or self.tabs.currentWidget() in (self.anomaly_view,
                                                                  self.table_view):
            self.refresh_linked(threshold)
        else:
            self.plot.set_flagged([])

    def refresh_linked(self, threshold=None) -> None:
        """Score every row for the Anomalies and Table tabs if the model changed."""
        if not getattr(self, "_linked_stale", True):
            return
        self._linked_stale = False
        dataset, model = self.dataset, self.model
        if dataset is None or model is None:
            self.scorer.discard()
            self._show_scores(dataset, None, None, None)
            return
        self._pending_threshold = threshold or self.threshold
        # Until the scores arrive the tabs show the bare rows, never another model's.
        self.anomaly_view.show_pending()
        self.table_view.set_model(dataset, None)
        self.table_view.count.setText("scoring rows…")
        self.scorer.start(lambda _cancel, _report: score_rows(dataset, model),
                          tag=(dataset.data_id, model))

    def _scored(self, scores) -> None:
        data_id, model = self.scorer.tag or (None, None)
        if not self.state.belongs(data_id) or model is not self.model:
            return  # scores of a model or data no longer on screen
        self._show_scores(self.dataset, model, scores, self._pending_threshold)

    def _show_scores(self, dataset, model, scores, threshold) -> None:
        self.table_view.set_model(dataset, model, scores)
        if scores is None:
            self._show_anomalies(dataset, model, scores, threshold)
            return
        # The anomaly view gets its own turn of the event loop: with millions
        # of rows, both in one go stalled the window for over 100 ms.
        QTimer.singleShot(0, lambda: self._show_anomalies(dataset, model, scores, threshold))

    def _show_anomalies(self, dataset, model, scores, threshold) -> None:
        if dataset is not self.dataset or model is not self.model:
            return  # superseded while waiting for its turn
        self.anomaly_view.set_model(dataset, model, threshold, scores)
        self.table_view.set_flagged(self.anomaly_view.flagged_positions())

    def _threshold_changed(self, threshold) -> None:
        self.threshold = threshold
        flagged = self.anomaly_view.flagged_positions()
        self.plot.set_flagged(flagged)
        self.table_view.set_flagged(flagged)

    def _select_one(self, position: int) -> None:
        self.plot.set_selected(np.array([position]))
        self.anomaly_view.select_position(position)
        self.table_view.select_position(position)
        row = self.dataset.rows[position] + 1 if self.dataset is not None else position + 1
        self._set_status(f"row {row} selected")

    def _boxed(self, positions: np.ndarray) -> None:
        self.plot.set_selected(positions)
        self.table_view.set_selection(positions)
        self.tabs.setCurrentWidget(self.table_view)
        self._set_status(f"{plural(len(positions), 'row')} selected in the box")

    def export_anomalies(self) -> None:
        """Anomalies ▸ Export flagged rows (most anomalous first)."""
        if self.threshold is None:
            self.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        dataset, model, threshold = self.dataset, self.model, self.threshold
        scores, source = self.anomaly_view.scores, self.source or ""
        self._export("Export anomalies", "CSV (*.csv)", "anomalies.csv",
                     lambda p: write_csv(p, anomaly_frame(dataset, model, threshold, scores),
                                         protect=[source]), background=True)
