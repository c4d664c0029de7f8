"""File ▸ Export: labels CSV, model JSON and plot PNG, through the core exporters."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..core import GMMStudioError
from ..core.files.atomic import atomic_write
from ..core.files.labels import write_labels_csv
from ..core.files.model_file import SavedModel, save_model, saved_from_fit
from .controller import JobController


class ExportActions:
    """Export slots of the main window (a mixin: uses its dataset, model and messages)."""

    def _ask_save_path(self, title: str, file_filter: str, default_name: str) -> str | None:
        folder = self.settings.value("files/last_folder", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / default_name),
                                              file_filter)
        return path or None

    def _setup_exports(self) -> None:
        # Writing a labels CSV of millions of rows takes many seconds: off the GUI thread.
        self.exporter = JobController(self)
        self.exporter.finished.connect(
            lambda path: self.messages.show_messages("info", [f"wrote {path}"]))
        self.exporter.failed.connect(lambda text: self.messages.show_messages("error", [text]))
        self.exporter.running_changed.connect(
            lambda running: running and self._set_status("writing the export…"))

    def _export(self, title, file_filter, default_name, write, background=False) -> None:
        """Ask where, then ``write(path)``; ``background`` runs it in a worker thread."""
        if self.model is None or self.dataset is None:
            self.messages.show_messages("info", ["fit a model first (Run or Step)."])
            return
        path = self._ask_save_path(title, file_filter, default_name)
        if not path:
            return
        if background:
            if self.exporter.running:
                self.messages.show_messages("info", ["an export is still being written."])
                return
            self.exporter.start(lambda _cancel, _report: str(write(path)))
            return
        try:
            write(path)
        except GMMStudioError as exc:
            self.messages.show_messages("error", [str(exc)])
            return
        self.messages.show_messages("info", [f"wrote {path}"])

    def export_labels(self) -> None:
        """Export ▸ Labels CSV (of the data and model on screen when asked)."""
        dataset, model = self.dataset, self.model
        self._export("Export labels", "CSV (*.csv)", "labels.csv",
                     lambda p: write_labels_csv(p, dataset, model), background=True)

    def saved_model(self) -> SavedModel | None:
        """The model of the data on screen, described with that data (or None).

        The state holds a model only with the data it was fitted on, so what
        is written always describes its own data.
        """
        fitted, dataset = self.state.fitted, self.state.dataset
        if fitted is None or dataset is None or fitted.data_id != dataset.data_id:
            return None
        if fitted.result is not None:
            return saved_from_fit(fitted.result, dataset)
        return SavedModel(fitted.model, dataset.feature_names, dataset.preprocessing,
                          self.fit_panel.config().to_dict())

    def export_model(self) -> None:
        """Export ▸ Model JSON."""
        def write(path):
            saved = self.saved_model()
            if saved is None:
                raise GMMStudioError("fit a model of the data on screen first.")
            save_model(path, saved, protect=[self.source or ""])
        self._export("Export model", "Model JSON (*.json)", "model.json", write)

    def export_plot(self) -> None:
        """Export ▸ Plot PNG: twice the size on screen, with a legend of the components."""
        def write(path):
            image = self.plot.export_image(self.model, scale=2.0)

            def save_png(tmp):
                if not image.save(str(tmp), "PNG"):
                    raise GMMStudioError(f"could not write the image {path}.")
            atomic_write(path, save_png, protect=[self.source or ""])
        self._export("Export plot", "PNG image (*.png)", "plot.png", write)
