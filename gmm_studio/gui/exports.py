"""File ▸ Export: labels CSV, model JSON and plot PNG, through the core exporters."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..core import GMMStudioError
from ..core.files.atomic import atomic_write
from ..core.files.labels import write_labels_csv
from ..core.files.model_file import SavedModel, save_model, saved_from_fit
from .controller import JobController


class Exports(QObject):
    """File ▸ Export of the window: reads the data and model from its state."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        # Writing a labels CSV of millions of rows takes many seconds: off the GUI thread.
        self.exporter = JobController(self)
        self.exporter.finished.connect(
            lambda path: self.w.messages.show_messages("info", [f"wrote {path}"]))
        self.exporter.failed.connect(lambda text: self.w.messages.show_messages("error", [text]))
        self.exporter.running_changed.connect(
            lambda running: running and self.w._set_status("writing the export…"))

    def _export(self, title, file_filter, default_name, write, background=False) -> None:
        """Ask where, then ``write(path)``; ``background`` runs it in a worker thread."""
        if self.w.model is None or self.w.dataset is None:
            self.w.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        path = self.w.ask_save_path(title, file_filter, default_name)
        if not path:
            return
        if background:
            if self.exporter.running:
                self.w.messages.show_messages("info", ["an export is still being written."])
                return
            self.exporter.start(lambda _cancel, _report: str(write(path)))
            return
        try:
            write(path)
        except GMMStudioError as exc:
            self.w.messages.show_messages("error", [str(exc)])
            return
        self.w.messages.show_messages("info", [f"wrote {path}"])

    def export_labels(self) -> None:
        """Export ▸ Labels CSV (of the data and model on screen when asked)."""
        dataset, model = self.w.dataset, self.w.model
        if model is not None and self.w.cluster.holds(dataset):
            self.w.cluster.export_labels(model)  # every row, by the workers, not the sample
            return
        self._export("Export labels", "CSV (*.csv)", "labels.csv",
                     lambda p: write_labels_csv(p, dataset, model), background=True)

    def saved_model(self) -> SavedModel | None:
        """The model of the data on screen, described with that data (or None).

        The state holds a model only with the data it was fitted on, so what
        is written always describes its own data.
        """
        fitted, dataset = self.w.state.fitted, self.w.state.dataset
        if fitted is None or dataset is None or fitted.data_id != dataset.data_id:
            return None
        if fitted.result is not None:
            return saved_from_fit(fitted.result, dataset)
        return SavedModel(fitted.model, dataset.feature_names, dataset.preprocessing,
                          self.w.fit_panel.config().to_dict())

    def export_model(self) -> None:
        """Export ▸ Model JSON."""
        def write(path):
            saved = self.saved_model()
            if saved is None:
                raise GMMStudioError("fit a model of the data on screen first.")
            save_model(path, saved, protect=[self.w.source or ""])
        self._export("Export model", "Model JSON (*.json)", "model.json", write)

    def export_plot(self) -> None:
        """Export ▸ Plot PNG: twice the size on screen, with a legend of the components."""
        def write(path):
            image = self.w.plot.export_image(self.w.model, scale=2.0)

            def save_png(tmp):
                if not image.save(str(tmp), "PNG"):
                    raise GMMStudioError(f"could not write the image {path}.")
            atomic_write(path, save_png, protect=[self.w.source or ""])
        self._export("Export plot", "PNG image (*.png)", "plot.png", write)
