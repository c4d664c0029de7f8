"""The Data and Fit panels: widgets bound to plain values, no maths."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import FitConfig
from .model_chooser import ModelCombo

ALGORITHM_LABELS = {"em": "Soft EM", "hard_em": "Hard EM", "kmeans": "k-means",
                    "soft_kmeans": "Soft k-means (Σ = σ²I)"}
INIT_LABELS = {"kmeans++": "k-means++ seeds", "kmeans": "k-means run",
               "random": "random responsibilities", "random_from_data": "random data points",
               "hierarchical": "hierarchical (model-based)"}


# Run's speed: full speed, or slowed so each iteration can be watched.
SPEEDS = {"as fast as possible": 0.0, "20 iterations/s": 20.0, "5 iterations/s": 5.0,
          "2 iterations/s": 2.0, "1 iteration/s": 1.0}

AXES_LABELS = {"features": "features (Plot x, y)", "pca": "principal components",
               "discriminant": "discriminant directions"}

FIT_TOOLTIPS = {
    "algorithm": "Soft EM: every point belongs to every component with a probability.\n"
                 "Hard EM: each point belongs to its most probable component (classification "
                 "EM).\nk-means: hard assignment with equal, round clusters.\n"
                 "Soft k-means: soft EM with every covariance fixed to σ²I; as σ → 0 it "
                 "becomes k-means.",
    "sigma": "Soft k-means' fixed spread σ, in the fitted data's units (z-scores when "
             "standardised).\n'auto': the pooled spread of the starting partition.",
    "equal_weights": "Soft k-means: keep every weight at 1/K (the lectures' case), or "
                     "let EM fit them.",
    "k": "Number of mixture components (clusters) to fit.",
    "covariance": "Covariance model, by mclust's names: volume, shape and orientation each\n"
                  "Equal across components, Varying, or the Identity (round / axis-aligned).\n"
                  "full = VVV (any ellipse), tied = EEE (one ellipse shared by all),\n"
                  "diag = VVI (axis-aligned), spherical = VII (round). Hover a model for its "
                  "description.",
    "init": "How each restart picks its starting model. Hierarchical: merge rows into\n"
            "clusters pairwise, each cluster with its own covariance (Ward's round\n"
            "clusters for k-means), deterministic; a second restart starts from Ward's\n"
            "tree, further ones from k-means++ seeds.",
    "floor": "Smallest variance a component may have along any direction, as a fraction of "
             "the data's variance there. 'off' disables it.",
    "restarts": "Independent runs from different starts; the one with the highest "
                "log-likelihood is kept.",
    "max_iter": "Stop a run after this many iterations even if it has not converged.",
    "tol": "Stop when the mean log-likelihood per row gains less than this.",
    "seed": "Random seed: the same seed gives the same result.",
    "speed": "Slow Run down to watch each iteration (for teaching and small data).",
    "noise": "Add a uniform component over the data's bounding box (mclust's noise): it "
             "claims outliers,\nits weight is fitted by EM, and its rows are grey in the "
             "plot and cluster 0 in exported files.",
}


class LogSpinBox(QDoubleSpinBox):
    """A spin box for positive scales: arrows step by half a decade, 0 shows 'off'."""

    def __init__(self, minimum: float, maximum: float, allow_zero: bool = False,
                 zero_text: str = "off"):
        super().__init__()
        self.setDecimals(12)
        self.setRange(0.0 if allow_zero else minimum, maximum)
        self._minimum = minimum
        self._zero_text = zero_text
        if allow_zero:
            self.setSpecialValueText(zero_text)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        try:
            return float(text)
        except ValueError:
            return 0.0 if text.strip() == self._zero_text else self.value()

    def validate(self, text, pos):  # accept anything float() will parse
        from PySide6.QtGui import QValidator
        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        value = self.value()
        if value <= 0:
            self.setValue(self._minimum if steps > 0 else 0.0)
            return
        new = 10 ** (math.log10(value) + 0.5 * steps)
        self.setValue(0.0 if new < self._minimum and self.minimum() == 0 else new)


def _combo(labels: dict[str, str]) -> QComboBox:
    box = QComboBox()
    for key, text in labels.items():
        box.addItem(text, key)
    return box


def _select(box: QComboBox, key) -> None:
    index = box.findData(key)
    if index >= 0:
        box.setCurrentIndex(index)


class DataPanel(QWidget):
    """File, feature columns, plotted pair, label column, standardisation."""

    selection_changed = Signal()
    plot_axes_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.file_label = QLabel("no data")
        self.file_label.setWordWrap(True)
        self.rows_label = QLabel("")
        self.rows_label.setWordWrap(True)
        self.features = QListWidget()
        self.features.setMaximumHeight(140)
        self.x_box, self.y_box, self.label_box = QComboBox(), QComboBox(), QComboBox()
        self.axes_box = _combo(AXES_LABELS)
        self.axes_box.setToolTip(
            "Features: any two columns.\nPrincipal components: the two directions of "
            "largest spread of the standardised columns.\nDiscriminant directions: the two "
            "that best separate the fitted components (between- against within-cluster "
            "scatter).\nEllipses are the exact projections of the components; axis labels "
            "name the largest loadings.")
        self.standardize = QCheckBox("Standardise (z-scores)")
        form = QFormLayout()
        form.addRow("Axes", self.axes_box)
        form.addRow("Plot x", self.x_box)
        form.addRow("Plot y", self.y_box)
        form.addRow("Labels", self.label_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(self.rows_label)
        layout.addWidget(QLabel("Features"))
        layout.addWidget(self.features)
        layout.addLayout(form)
        layout.addWidget(self.standardize)
        layout.addStretch(1)
        self.features.itemChanged.connect(self._features_changed)
        self.standardize.toggled.connect(lambda _: self.selection_changed.emit())
        self.label_box.currentIndexChanged.connect(lambda _: self.selection_changed.emit())
        self.x_box.currentIndexChanged.connect(lambda _: self.plot_axes_changed.emit())
        self.y_box.currentIndexChanged.connect(lambda _: self.plot_axes_changed.emit())
        self.axes_box.currentIndexChanged.connect(self._axes_changed)

    def set_columns(self, numeric: list[str], others: list[str], checked: list[str]) -> None:
        """Offer ``numeric`` columns as features (``checked`` ticked) and labels."""
        self.blockSignals(True)
        self.features.blockSignals(True)
        self.features.clear()
        for name in numeric:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in checked
                               else Qt.CheckState.Unchecked)
            self.features.addItem(item)
        self.features.blockSignals(False)
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItem("(none)", None)
        for name in others + numeric:
            self.label_box.addItem(name, name)
        self.label_box.blockSignals(False)
        self._refresh_axes()
        self.blockSignals(False)

    def checked_features(self) -> list[str]:
        """Ticked feature columns, in file order."""
        return [self.features.item(i).text() for i in range(self.features.count())
                if self.features.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly ``names``."""
        for i in range(self.features.count()):
            item = self.features.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names
                               else Qt.CheckState.Unchecked)

    def label_column(self) -> str | None:
        """The chosen label column or None."""
        return self.label_box.currentData()

    def plot_dims(self) -> tuple[int, int | None]:
        """Indices (into the checked features) of the plotted x and y."""
        names = self.checked_features()
        x = max(0, self.x_box.currentIndex())
        if len(names) < 2:
            return 0, None
        y = self.y_box.currentIndex()
        return x, (y if y >= 0 and y != x else (1 if x == 0 else 0))

    def axes(self) -> str:
        """The kind of plot axes: "features", "pca" or "discriminant"."""
        return self.axes_box.currentData()

    def _axes_changed(self, _index: int) -> None:
        self._enable_pair()
        self.plot_axes_changed.emit()

    def _enable_pair(self) -> None:
        pair = self.axes() == "features"
        self.x_box.setEnabled(pair)
        self.y_box.setEnabled(pair and self.y_box.count() > 1)
        self.axes_box.setEnabled(self.y_box.count() > 1)

    def _features_changed(self, _item) -> None:
        self._refresh_axes()
        self.selection_changed.emit()

    def _refresh_axes(self) -> None:
        names = self.checked_features()
        old_x, old_y = self.x_box.currentText(), self.y_box.currentText()
        for box in (self.x_box, self.y_box):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
        if old_x in names:
            self.x_box.setCurrentText(old_x)
        if old_y in names and old_y != self.x_box.currentText():
            self.y_box.setCurrentText(old_y)
        elif len(names) > 1:
            self.y_box.setCurrentIndex(1 if self.x_box.currentIndex() == 0 else 0)
        for box in (self.x_box, self.y_box):
            box.blockSignals(False)
        self._enable_pair()
        self.plot_axes_changed.emit()


class FitPanel(QWidget):
    """Fit settings and the Run / Step / Stop / Reset buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.algorithm = _combo(ALGORITHM_LABELS)
        self.k = QSpinBox()
        self.k.setRange(1, 50)
        self.k.setValue(3)
        self.covariance = ModelCombo()
        self.init = _combo(INIT_LABELS)
        self.floor = LogSpinBox(1e-8, 0.5, allow_zero=True)
        self.restarts = QSpinBox()
        self.restarts.setRange(1, 200)
        self.max_iter = QSpinBox()
        self.max_iter.setRange(1, 100_000)
        self.tol = LogSpinBox(1e-12, 1.0)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.float32 = QCheckBox("Single precision (faster)")
        self.float32.setToolTip("Compute in float32: faster on big data, about 1e-5 relative "
                                "accuracy (see docs/performance.md).")
        self.sigma = LogSpinBox(1e-6, 1e6, allow_zero=True, zero_text="auto")
        self.equal_weights = QCheckBox()
        self.noise = QCheckBox("+ noise")
        self.speed = QComboBox()
        for text, pace in SPEEDS.items():
            self.speed.addItem(text, pace)
        for widget, tip in FIT_TOOLTIPS.items():
            getattr(self, widget).setToolTip(tip)
        soft = QWidget()  # σ and the weights share a row, shown for soft k-means only
        soft_row = QHBoxLayout(soft)
        soft_row.setContentsMargins(0, 0, 0, 0)
        soft_row.addWidget(self.sigma, 1)
        soft_row.addWidget(self.equal_weights)
        self.soft_row = soft
        self.equal_weights.setText("equal weights")
        k_row = QWidget()  # "K [3] + noise": one row, so Run and Step stay above the fold
        k_layout = QHBoxLayout(k_row)
        k_layout.setContentsMargins(0, 0, 0, 0)
        k_layout.addWidget(self.k, 1)
        k_layout.addWidget(self.noise)
        form = self.form = QFormLayout()
        for label, widget in (("Algorithm", self.algorithm), ("Components K", k_row),
                              ("Covariance", self.covariance), ("σ (soft k-means)", soft),
                              ("Initialisation", self.init),
                              ("Variance floor", self.floor), ("Restarts", self.restarts),
                              ("Max iterations", self.max_iter), ("Tolerance", self.tol),
                              ("Seed", self.seed), ("Speed", self.speed), ("", self.float32)):
            form.addRow(label, widget)
        self.run_button = QPushButton("Run")
        self.step_button = QPushButton("Step")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset")
        self.run_button.setToolTip("Fit until convergence (Ctrl+R); after stepping, goes on "
                                   "from the stepped model")
        self.step_button.setToolTip("One half-step: E-step, then M-step (Space); after a Run, "
                                    "goes on from the fitted model")
        self.stop_button.setToolTip("Stop the running fit (Esc)")
        self.reset_button.setToolTip("Forget the current model and start over")
        buttons = QHBoxLayout()
        for b in (self.run_button, self.step_button, self.stop_button, self.reset_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.algorithm.currentIndexChanged.connect(self._algorithm_changed)
        self.set_config(FitConfig())
        self.set_running(False)

    def _algorithm_changed(self, _index: int) -> None:
        # k-means has no covariance choice: it is always equal and spherical;
        # soft k-means has σ instead.
        algorithm = self.algorithm.currentData()
        self.covariance.setEnabled(algorithm not in ("kmeans", "soft_kmeans"))
        self.form.setRowVisible(self.soft_row, algorithm == "soft_kmeans")
        self.noise.setEnabled(algorithm == "em")
        if algorithm != "em":
            self.noise.setChecked(False)

    def config(self) -> FitConfig:
        """The settings shown, validated."""
        return FitConfig(
            algorithm=self.algorithm.currentData(), n_components=self.k.value(),
            covariance_type=self.covariance.currentData(), init=self.init.currentData(),
            n_init=self.restarts.value(), max_iter=self.max_iter.value(), tol=self.tol.value(),
            variance_floor=self.floor.value(), random_state=self.seed.value(),
            dtype="float32" if self.float32.isChecked() else "float64",
            sigma=self.sigma.value() or None, equal_weights=self.equal_weights.isChecked(),
            noise=self.noise.isChecked() and self.algorithm.currentData() == "em")

    def pace(self) -> float:
        """Iterations per second Run is slowed to (0: as fast as it goes)."""
        return float(self.speed.currentData() or 0.0)

    def set_config(self, config: FitConfig) -> None:
        """Show ``config``."""
        _select(self.algorithm, config.algorithm)
        self.k.setValue(config.n_components)
        _select(self.covariance, config.covariance_type)
        _select(self.init, config.init)
        self.floor.setValue(config.variance_floor)
        self.restarts.setValue(config.n_init)
        self.max_iter.setValue(config.max_iter)
        self.tol.setValue(config.tol)
        self.seed.setValue(config.random_state or 0)
        self.float32.setChecked(config.dtype == "float32")
        self.sigma.setValue(config.sigma or 0.0)
        self.equal_weights.setChecked(config.equal_weights)
        self.noise.setChecked(config.noise)
        self._algorithm_changed(0)

    def set_running(self, running: bool) -> None:
        """Enable the buttons that make sense while a fit runs or not."""
        self.run_button.setEnabled(not running)
        self.step_button.setEnabled(not running)
        self.reset_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
