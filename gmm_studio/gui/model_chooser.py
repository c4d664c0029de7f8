"""Choosing among the fourteen covariance models: a grouped combo and a menu button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QMenu, QToolButton

from ..core.model.families import (
    MCLUST_NAMES,
    SKLEARN_TYPES,
    covariance_model,
)

GROUPS = ("spherical", "diagonal", "ellipsoidal")
GROUP_TITLES = {"spherical": "Spherical (round)", "diagonal": "Diagonal (axis-aligned)",
                "ellipsoidal": "Ellipsoidal (any orientation)"}

# One look per model for curves and legends: eight colours (Okabe-Ito and
# black), solid for models whose orientation is free, dashed otherwise, and a
# symbol per group, so fourteen curves stay apart in colour and in grey.
_COLOURS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D4C600", "#0072B2", "#D55E00",
            "#CC79A7")
_SYMBOLS = {"spherical": "o", "diagonal": "s", "ellipsoidal": "t"}


def model_label(name: str) -> str:
    """Menu text for an mclust name: "VVV  (full)" for scikit-learn's four, else the name."""
    kind = covariance_model(name).covariance_type
    return f"{name}  ({kind})" if kind != name else name


def model_style(covariance_type: str) -> tuple[str, bool, str]:
    """(colour, dashed, symbol) of a model's curve."""
    spec = covariance_model(covariance_type)
    index = MCLUST_NAMES.index(spec.name)
    return _COLOURS[index % len(_COLOURS)], index >= len(_COLOURS), _SYMBOLS[spec.group]


class ModelCombo(QComboBox):
    """The fourteen models under group headings; data is the canonical covariance_type."""

    def __init__(self) -> None:
        super().__init__()
        store = QStandardItemModel(self)
        bold = QFont()
        bold.setBold(True)
        for group in GROUPS:
            header = QStandardItem(GROUP_TITLES[group])
            header.setFlags(Qt.ItemFlag.NoItemFlags)     # a heading, not a choice
            header.setFont(bold)
            store.appendRow(header)
            for name in MCLUST_NAMES:
                spec = covariance_model(name)
                if spec.group != group:
                    continue
                item = QStandardItem("   " + model_label(name))
                item.setData(spec.covariance_type, Qt.ItemDataRole.UserRole)
                item.setToolTip(spec.describe())
                store.appendRow(item)
        self.setModel(store)
        self.setMaxVisibleItems(20)
        self.currentIndexChanged.connect(self._show_description)
        self.select("full")

    def select(self, covariance_type: str) -> None:
        """Show ``covariance_type`` (any accepted spelling)."""
        index = self.findData(covariance_model(covariance_type).covariance_type)
        if index >= 0:
            self.setCurrentIndex(index)

    def _show_description(self, _index: int) -> None:
        data = self.currentData()
        if data is not None:
            self.setStatusTip(covariance_model(data).describe())


class ModelMenuButton(QToolButton):
    """A button whose menu ticks models on and off; ``types`` maps type -> QAction."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        every = menu.addAction("All fourteen")
        four = menu.addAction("scikit-learn's four (full, tied, diag, spherical)")
        self.types: dict[str, QAction] = {}
        for group in GROUPS:
            menu.addSection(GROUP_TITLES[group])
            for name in MCLUST_NAMES:
                spec = covariance_model(name)
                if spec.group != group:
                    continue
                action = menu.addAction(model_label(name))
                action.setCheckable(True)
                action.setChecked(True)
                action.setToolTip(spec.describe())
                action.toggled.connect(lambda _on: self._update())
                self.types[spec.covariance_type] = action
        menu.setToolTipsVisible(True)
        every.triggered.connect(lambda: self.choose(list(self.types)))
        four.triggered.connect(lambda: self.choose(list(SKLEARN_TYPES)))
        self.setMenu(menu)
        self._update()

    def choose(self, types: list[str]) -> None:
        """Tick exactly ``types``."""
        for kind, action in self.types.items():
            action.blockSignals(True)
            action.setChecked(kind in types)
            action.blockSignals(False)
        self._update()

    def chosen(self) -> list[str]:
        """The ticked types, in mclust's order."""
        return [kind for kind, action in self.types.items() if action.isChecked()]

    def _update(self) -> None:
        self.setText(f"models: {len(self.chosen())} of {len(self.types)} ▾")
        self.setToolTip("Covariance models in the sweep: "
                        + (", ".join(covariance_model(t).name for t in self.chosen()) or "none"))
        self.changed.emit()
