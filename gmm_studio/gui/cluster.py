"""Data on a Dask cluster in the window: a scheduler setting, open, Run there, export.

Fit ▸ Dask scheduler… sets the address ("local" starts a cluster on this
machine's cores). File ▸ Open on the cluster… reads a folder of Parquet or
CSV files there; the window shows a random sample of its rows, and Run fits
all of them on the cluster, with the same live snapshots and Stop. Export ▸
Labels then writes one CSV per partition, by the workers. Dask is imported
only when one of these is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit

from ..core import GMMStudioError
from ..core.text import plural

SAMPLE_ROWS = 20_000  # rows of cluster data shown (and scored) in the window


@dataclass
class ClusterData:
    """A dask DataFrame on the cluster and what the window shows of it."""

    source: str
    frame: object  # dask DataFrame
    n_rows: int
    data_id: str | None = None  # the id of the sample's Dataset, once built

    def array(self, columns: list[str]):
        """The chosen columns of every row with no missing value, as a dask array."""
        from ..core import distributed

        return distributed.as_dask_array(self.frame[columns].dropna(), columns)


class Cluster(QObject):
    """The window's Dask connection and the cluster data on screen (if any)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.client = None
        self.data: ClusterData | None = None

    @property
    def address(self) -> str:
        """The scheduler address in the settings ("" when none is set)."""
        return str(self.w.settings.value("dask/address", "") or "")

    def set_address_dialog(self) -> None:
        """Fit ▸ Dask scheduler…"""
        text, ok = QInputDialog.getText(
            self.w, "Dask scheduler",
            "Scheduler address (tcp://host:8786), or 'local' for a cluster on this "
            "machine's cores; empty: none.", QLineEdit.EchoMode.Normal, self.address)
        if ok:
            self.set_address(text.strip())

    def set_address(self, address: str) -> None:
        """Use ``address`` from now on (the old connection is closed)."""
        self.w.settings.setValue("dask/address", address)
        self.close()
        self.w._set_status(f"Dask scheduler: {address or 'none'}")

    def connect(self):
        """The Client, connected on first use; None (and a message) when that fails."""
        if self.client is None:
            if not self.address:
                self.w.messages.show_messages("info", [
                    "set a Dask scheduler first (Fit ▸ Dask scheduler…)."])
                return None
            from ..core import distributed

            try:
                self.client = distributed.connect(self.address)
            except GMMStudioError as exc:
                self.w.messages.show_messages("error", [str(exc)])
                return None
        return self.client

    def open_dialog(self) -> None:
        """File ▸ Open on the cluster…: a folder of Parquet or CSV files."""
        folder = QFileDialog.getExistingDirectory(self.w, "Open a folder on the cluster",
                                                  self.w.settings.value("files/last_folder",
                                                                        str(Path.home())))
        if folder:
            self.open(folder)

    def open(self, source: str) -> bool:
        """Read ``source`` on the cluster and show a sample of its rows."""
        if self.connect() is None:
            return False
        from ..core import distributed

        try:
            frame = distributed.open_frame(source)
            n_rows = int(len(frame))
            fraction = min(1.0, SAMPLE_ROWS / max(n_rows, 1))
            sample = frame.sample(frac=fraction, random_state=0).compute().reset_index(
                drop=True)
        except (GMMStudioError, OSError, ValueError) as exc:
            self.w.messages.show_messages("error", [f"could not open {source}: {exc}"])
            return False
        title = (f"{Path(source).name} on the cluster — showing {plural(len(sample), 'row')} "
                 f"of {n_rows:,}")
        self.w.set_frame(sample, title, None, None)
        self.data = ClusterData(source, frame, n_rows)
        self.data.data_id = None if self.w.dataset is None else self.w.dataset.data_id
        self.w.data_ref = None  # a session cannot reopen cluster data yet
        self.w._set_status(f"{n_rows:,} rows on the cluster; Run fits them all there")
        return True

    def holds(self, dataset) -> bool:
        """True when ``dataset`` is the sample of the cluster data on screen."""
        return (self.data is not None and dataset is not None
                and dataset.data_id == self.data.data_id)

    def rebuilt(self, dataset) -> None:
        """The window rebuilt its dataset (other features ticked): follow its id."""
        if self.data is not None and dataset is not None:
            self.data.data_id = dataset.data_id

    def fit_input(self, dataset):
        """What Run fits: the cluster's rows of the ticked features, or None for ``dataset``."""
        if not self.holds(dataset):
            return None
        if dataset.preprocessing.standardize:
            raise GMMStudioError("standardising data on the cluster is not available yet; "
                                 "untick Standardise to fit it there.")
        return self.data.array(list(dataset.feature_names))

    def forget(self) -> None:
        """Other data is opened: the cluster data leaves the screen."""
        self.data = None

    def export_labels(self, model) -> None:
        """Export ▸ Labels for cluster data: one CSV per partition, by the workers."""
        folder = QFileDialog.getExistingDirectory(self.w, "Folder for the labels")
        if not folder:
            return
        from ..core import distributed

        data, names = self.data, list(self.w.dataset.feature_names)

        def write(_cancel, _report) -> str:
            files = distributed.write_labels(data.frame, names, model, folder)
            return f"{folder} ({plural(len(files), 'file')}, one per partition)"
        self.w.exports.exporter.start(write)

    def close(self) -> None:
        """Close the connection (and a local cluster)."""
        if self.client is not None:
            cluster = getattr(self.client, "cluster", None)
            self.client.close()
            if cluster is not None:
                cluster.close()
            self.client = None
