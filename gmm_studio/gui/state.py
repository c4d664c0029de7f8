"""The window's truth: the data on screen and the model that belongs to it.

Views and actions read from here instead of from each other. The one rule it
keeps: a model is held only together with the identity (``Dataset.data_id``)
of the data it was fitted on, and only while that data is on screen. Setting
new data drops a model of other data, so exports, autosave and sessions can
never pair a model with data it does not belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ..core import MixtureModel
from ..core.data.dataset import Dataset
from ..core.results import FitResult


@dataclass(frozen=True, eq=False)
class Fitted:
    """A model, the fit it came from (None for a step or a restored model), its data's id."""

    model: MixtureModel
    data_id: str
    result: FitResult | None = None


class StudioState(QObject):
    """Data, title and fitted model of the window; signals when either changes."""

    data_changed = Signal()
    model_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.title = ""
        self.fitted: Fitted | None = None
        self.threshold = None  # AnomalyThreshold of the model on screen, or None

    @property
    def data_id(self) -> str | None:
        """Identity of the data on screen."""
        return None if self.dataset is None else self.dataset.data_id

    @property
    def model(self) -> MixtureModel | None:
        """The model of the data on screen, if any."""
        return None if self.fitted is None else self.fitted.model

    @property
    def result(self) -> FitResult | None:
        """The fit behind ``model`` (None after a step or a session restore)."""
        return None if self.fitted is None else self.fitted.result

    def set_dataset(self, dataset: Dataset | None, title: str = "") -> None:
        """Show ``dataset``; a model of any other data is dropped."""
        self.dataset, self.title = dataset, title or self.title
        if self.fitted is not None and self.fitted.data_id != self.data_id:
            self.fitted, self.threshold = None, None
            self.model_changed.emit()
        self.data_changed.emit()

    def belongs(self, data_id: str | None) -> bool:
        """True when a result computed on ``data_id`` may be shown now."""
        return data_id is not None and data_id == self.data_id

    def set_model(self, model: MixtureModel | None, data_id: str | None,
                  result: FitResult | None = None) -> bool:
        """Hold ``model`` (fitted on ``data_id``); refused (False) for other data."""
        if model is None:
            changed, self.fitted = self.fitted is not None, None
        elif not self.belongs(data_id) or model.n_features != self.dataset.X.shape[1]:
            return False
        else:
            changed, self.fitted = True, Fitted(model, data_id, result)
        if changed:
            self.model_changed.emit()
        return True
