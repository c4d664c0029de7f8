"""Small widgets: the message bar (the one place errors show) and the parameter table."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

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


def read_only_table() -> QTableWidget:
    """A table the user reads but does not edit: no row numbers, alternating rows."""
    table = QTableWidget()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    return table


def set_cell(table: QTableWidget, row: int, col: int, text: str, right: bool = True) -> None:
    """Put ``text`` in a cell, creating it once (numbers right-aligned)."""
    item = table.item(row, col)
    if item is None:
        item = QTableWidgetItem()
        if right:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, col, item)
    if item.text() != text:
        item.setText(text)
