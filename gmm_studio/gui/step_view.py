"""The Step tab: every responsibility and the M-step's N_k, μ_k, σ²_k, π_k, to check by hand.

Filled after each half-step of step mode, in the data file's units, to five
digits, so a student can hold a hand calculation against it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.model.geometry import data_space
from .likelihood_plot import format_gap
from .palette import component_color
from .widgets import read_only_table, set_cell

MAX_ROWS = 200  # the table is for checking by hand; more rows would not be read
IDLE = ("Press Step to go through EM one half-step at a time; the responsibilities and "
        "estimates appear here.")
_PHASES = {"start": "the starting values", "init": "the starting values",
           "E": "E-step", "M": "M-step"}


def _fill(table: QTableWidget, headers: list[str], rows: list[list[str]]) -> None:
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            set_cell(table, r, c, text)
    table.resizeColumnsToContents()


def component_rows(model, resp, prep, names, weights=None) -> tuple[list[str], list[list[str]]]:
    """Headers and one row per component k = 0..K-1: N_k, μ_k, σ²_k, π_k (file units).

    resp (N, K) is the q the model was estimated from (None before the first
    M-step: N_k is then blank). Round components of unscaled data show one
    σ²; otherwise each feature's variance.
    """
    means, covs = data_space(model, prep)
    round_ = model.covariance_type == "spherical" and not prep.standardize
    var_headers = ["σ²"] if round_ or len(names) == 1 else [f"σ² {n}" for n in names]
    headers = ["component", "N_k", *[f"μ {n}" if len(names) > 1 else "μ" for n in names],
               *var_headers, "π_k"]
    if resp is None:
        nk = [None] * model.n_components
    else:
        nk = (resp.sum(axis=0) if weights is None else weights @ resp).tolist()
    rows = []
    for k in range(model.n_components):
        variances = np.diagonal(covs[k])[:1] if len(var_headers) == 1 else np.diagonal(covs[k])
        rows.append([str(k), "" if nk[k] is None else f"{nk[k]:.5f}",
                     *[f"{m:.5g}" for m in means[k]], *[f"{v:.5g}" for v in variances],
                     f"{model.weights[k]:.5f}"])
    return headers, rows


def responsibility_rows(raw: np.ndarray, resp: np.ndarray, names) -> tuple[list[str], list]:
    """Headers and one row per data point (at most MAX_ROWS): x, then γ_0..γ_K-1, 5 digits.

    raw (N, D) in the data file's units; resp (N, K).
    """
    shown = min(len(raw), MAX_ROWS)
    headers = ["row", *names, *[f"γ component {k}" for k in range(resp.shape[1])]]
    rows = [[str(n + 1), *[f"{v:.5g}" for v in raw[n]], *[f"{g:.5f}" for g in resp[n]]]
            for n in range(shown)]
    return headers, rows


class StepView(QWidget):
    """Responsibilities γ of every point and the parameters after each half-step."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = QLabel(IDLE)
        self.heading.setWordWrap(True)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #7a3300;")
        self.responsibilities = read_only_table()
        self.components = read_only_table()
        tables = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        self.resp_label = QLabel("<b>Responsibilities γ</b>")
        self.comp_label = QLabel("<b>Parameters</b>")
        left.addWidget(self.resp_label)
        left.addWidget(self.responsibilities, 1)
        right.addWidget(self.comp_label)
        right.addWidget(self.components, 1)
        tables.addLayout(left, 3)
        tables.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.note)
        layout.addLayout(tables, 1)
        self.example_note = ""
        self.clear()

    def clear(self, example_note: str = "") -> None:
        """Empty tables (a reset, new data); ``example_note`` is shown after the first M-step.

        Nothing of the last session stays: no figure of other data may show.
        """
        self.example_note = example_note
        self.heading.setText(IDLE)
        self.resp_label.setText("<b>Responsibilities γ</b>")
        self.comp_label.setText("<b>Parameters</b>")
        self.note.setText("")
        self.note.setVisible(False)
        for table in (self.responsibilities, self.components):
            table.setRowCount(0)
            table.setColumnCount(0)

    def say(self, text: str) -> None:
        """A note under the heading (e.g. why a component collapsed)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def show_session(self, session, dataset) -> None:
        """Fill both tables from a StepSession on ``dataset`` (the data on screen)."""
        if session.model is None or dataset is None:
            return
        names = list(dataset.feature_names)
        last = session.trace[-1] if session.trace else None
        phase = "start" if last is None else last.phase
        where = f"iteration {session.iteration}, after {_PHASES[phase]}"
        self.heading.setText(f"<b>{where}</b> · log L {self._ll(last, dataset)} · "
                             f"{self._next(session)}")
        if session.resp is not None:
            headers, rows = responsibility_rows(dataset.raw, session.resp, names)
            _fill(self.responsibilities, headers, rows)
            shown = "" if len(dataset.raw) <= MAX_ROWS else f" (first {MAX_ROWS} rows)"
            self.resp_label.setText(
                f"<b>Responsibilities γ</b> from the E-step of iteration "
                f"{session.iteration + (phase == 'E')}{shown}")
        resp = session.resp if phase == "M" else None
        headers, rows = component_rows(session.model, resp, dataset.preprocessing, names,
                                       dataset.weights)
        _fill(self.components, headers, rows)
        for k in range(len(rows)):  # the same colours as the plot and the Parameters tab
            self.components.item(k, 0).setBackground(QBrush(component_color(k)))
        self.comp_label.setText("<b>Parameters</b> " + (
            f"from the M-step of iteration {session.iteration} (N_k = Σ γ)" if phase == "M"
            else "in force (N_k comes with the next M-step)"))
        if phase == "M" and session.iteration == 1 and self.example_note:
            self.say(self.example_note)

    @staticmethod
    def _ll(last, dataset) -> str:
        if last is None:
            return "—"
        offset = dataset.log_likelihood_offset()
        text = f"{last.log_likelihood + offset:.6g}"
        if last.bound is not None:
            text += f", bound {last.bound + offset:.6g}, KL gap {format_gap(last)}"
        return text

    @staticmethod
    def _next(session) -> str:
        return "next: E-step" if session.phase == "E" else "next: M-step"
