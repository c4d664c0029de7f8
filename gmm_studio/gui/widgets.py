"""Small widgets: the message bar (the one place errors show) and the parameter table."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from ..core import MixtureModel
from ..core.data.preprocessing import Preprocessing
from ..core.model.geometry import data_space
from .palette import component_color

_STYLES = {
    "info": "background:#e8f1fb; border:1px solid #9cc3ea; color:#0b3d6b;",
    "warning": "background:#fff6d6; border:1px solid #e8c34a; color:#5a4500;",
    "error": "background:#fde4e1; border:1px solid #e58f84; color:#7a1206;",
}


class MessageBar(QFrame):
    """Non-modal messages for the user: info, warnings and errors, dismissable."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QToolButton()
        self.action_button.hide()
        self._action = None
        self.action_button.clicked.connect(self._run_action)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.level = ""
        self.messages: list[str] = []
        self.hide()

    def show_messages(self, level: str, messages: list[str], action=None) -> None:
        """Replace what is shown; an empty list hides the bar.

        ``action`` is an optional (button text, callback) offered next to the text.
        """
        self.level, self.messages = level, list(messages)
        self._action = action
        self.action_button.setVisible(action is not None)
        if action is not None:
            self.action_button.setText(action[0])
        if not messages:
            self.clear()
            return
        prefix = {"error": "Error: ", "warning": "Warning: ", "info": ""}[level]
        self.label.setText("\n".join(prefix + m for m in messages))
        self.setStyleSheet(f"MessageBar {{{_STYLES[level]} border-radius:4px;}}")
        self.show()

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.clear()
        if action is not None:
            action[1]()

    def clear(self) -> None:
        """Hide and forget."""
        self.level, self.messages = "", []
        self._action = None
        self.action_button.hide()
        self.label.clear()
        self.hide()


class StaleMark:
    """Which data a view's results belong to; marks them when other data is on screen.

    A view that keeps results across a change of data (Compare, Choose K)
    says so plainly, fades its plots and offers one click to recompute.
    """

    def __init__(self, messages: MessageBar, faded, recompute, greyed=()) -> None:
        # ``faded``: a graphics item (e.g. a layout of plots) whose opacity drops;
        # ``greyed``: widgets (tables of figures) disabled while stale.
        self.messages, self.recompute, self.faded = messages, recompute, faded
        self.greyed = list(greyed)
        self._warned = False
        self.results_id: str | None = None
        self.results_title = ""
        self.screen_id: str | None = None
        self.screen_title = ""

    @property
    def stale(self) -> bool:
        """True when results are shown for data that is not on screen."""
        return self.results_id is not None and self.results_id != self.screen_id

    def computed(self, data_id: str, title: str) -> None:
        """The results shown now were computed on ``data_id``."""
        self.results_id, self.results_title = data_id, title
        self._show()

    def cleared(self) -> None:
        """No results are shown."""
        self.results_id = None
        self._show()

    def data_changed(self, data_id: str | None, title: str) -> None:
        """The window now shows ``data_id``."""
        self.screen_id, self.screen_title = data_id, title
        self._show()

    def _show(self) -> None:
        self.faded.setOpacity(0.3 if self.stale else 1.0)
        for widget in self.greyed:
            widget.setEnabled(not self.stale)
        if self.stale:
            self.messages.show_messages("warning", [
                f"these results were computed on other data ({self.results_title}), not on "
                f"the data on screen ({self.screen_title})."],
                action=("Recompute", self.recompute))
            self._warned = True
            return
        if self._warned:
            self.messages.clear()
            self._warned = False


class TopOverlay(QObject):
    """Keeps ``bar`` floating over the top edge of ``host``, outside any layout.

    In the layout, a bar that appears or goes re-lays out, and so repaints,
    every plot below it: 50-100 ms at the end of a big fit with a warning,
    and the plots jump. Floating, it covers a strip of the plot until dismissed.
    """

    def __init__(self, bar: QWidget, host: QWidget, margin: int = 6) -> None:
        super().__init__(host)
        self.bar, self.host, self.margin = bar, host, margin
        bar.setParent(host)
        host.installEventFilter(self)
        bar.installEventFilter(self)
        self.place()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self.place()
        return False

    def place(self) -> None:
        """Full width less the margins, as tall as the wrapped text needs."""
        width = max(self.host.width() - 2 * self.margin, 120)
        # A wrapped label's size hint assumes a narrow width; ask for this one.
        height = (self.bar.heightForWidth(width) if self.bar.hasHeightForWidth()
                  else self.bar.sizeHint().height())
        self.bar.setGeometry(self.margin, self.margin, width, height)
        self.bar.raise_()


class ParameterTable(QTableWidget):
    """Weights, means and standard deviations (data units), one row per component.

    While a fit runs the table is refilled many times a second, so cells are
    created once per layout and only their text changes; columns are resized
    only when a text grows longer than any before it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self._layout: tuple = ()
        self._widths: list[int] = []

    def show_model(self, model: MixtureModel | None, prep: Preprocessing,
                   names: list[str]) -> None:
        """Fill the table from ``model`` (None empties it)."""
        if model is None:
            self.setRowCount(0)
            self.setColumnCount(0)  # no headers naming another file's columns
            self._layout = ()
            return
        means, covs = data_space(model, prep)
        sds = np.sqrt(np.diagonal(covs, axis1=1, axis2=2))
        headers = (["component", "weight"] + [f"mean {n}" for n in names]
                   + [f"sd {n}" for n in names])
        if len(names) == 2:
            headers.append("correlation")
        if self._layout != (model.n_components, tuple(headers)):
            self._new_layout(model.n_components, headers)
        grew = False
        for k in range(model.n_components):
            values = [model.weights[k], *means[k], *sds[k]]
            if len(names) == 2:
                values.append(covs[k, 0, 1] / (sds[k, 0] * sds[k, 1]))
            for col, value in enumerate(values, start=1):
                text = f"{value:.5g}"
                self.item(k, col).setText(text)
                if len(text) > self._widths[col]:
                    self._widths[col], grew = len(text), True
        if grew:
            self.resizeColumnsToContents()

    def _new_layout(self, n_components: int, headers: list[str]) -> None:
        self._layout = (n_components, tuple(headers))
        self._widths = [0] * len(headers)
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(n_components)
        for k in range(n_components):
            swatch = QTableWidgetItem(f"  {k}")
            swatch.setBackground(QBrush(component_color(k)))
            self.setItem(k, 0, swatch)
            for col in range(1, len(headers)):
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(k, col, item)
        self.resizeColumnsToContents()
