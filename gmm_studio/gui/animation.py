"""File ▸ Export ▸ Animation: the fit on screen as a GIF or MP4, a frame per step.

The models are found again (core.teaching.replay), drawn one by one into a
plot of the chosen size that never shows on screen, and written by
core.files.animation; a progress dialog offers Cancel throughout.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGraphicsItem,
    QProgressDialog,
    QSpinBox,
)

from ..core import GMMStudioError
from ..core.files.animation import ffmpeg_program, write_animation
from ..core.teaching.replay import Frame, half_step_frames, iteration_frames
from .plots import MainPlot


class AnimationDialog(QDialog):
    """What to animate (iterations or half-steps), frame size, frame rate and format."""

    def __init__(self, parent, can_iterations: bool, can_half_steps: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.frames = QComboBox()
        if can_half_steps:
            self.frames.addItem("one frame per half-step (step mode)", "half_steps")
        if can_iterations:
            self.frames.addItem("one frame per iteration (the last Run)", "iterations")
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, 800), (self.height_box, 600)):
            box.setRange(160, 3840)
            box.setValue(value)
            box.setSuffix(" px")
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(4)
        self.format = QComboBox()
        self.format.addItem("GIF", "gif")
        self.format.addItem("MP4 (H.264)", "mp4")
        if ffmpeg_program() is None:
            self.format.model().item(1).setEnabled(False)
            self.format.setToolTip("MP4 needs ffmpeg: pip install 'gmm-studio[video]'.")
        form = QFormLayout(self)
        for label, widget in (("Frames", self.frames), ("Width", self.width_box),
                              ("Height", self.height_box), ("Frames per second", self.fps),
                              ("Format", self.format)):
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> dict:
        """The settings chosen."""
        return {"frames": self.frames.currentData(), "size": (self.width_box.value(),
                                                              self.height_box.value()),
                "fps": float(self.fps.value()), "format": self.format.currentData()}


def image_to_rgb(image: QImage) -> np.ndarray:
    """An (H, W, 3) uint8 copy of ``image``."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = image.height(), image.width()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


class FrameRenderer:
    """A MainPlot of a fixed size, never on screen, that draws one Frame at a time."""

    def __init__(self, dataset, dims, size: tuple[int, int]) -> None:
        self.plot = MainPlot()
        self.plot.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.plot.resize(*size)
        self.plot.show()
        self.plot.set_data(dataset.X, dataset.raw, list(dataset.feature_names), dims,
                           dataset.preprocessing, dataset.weights)
        # The on-screen plot caches its axes as pictures (they repaint on
        # events); frames are rendered without events, so draw them afresh.
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self.size = size

    def hold_view(self, frames: list[Frame]) -> None:
        """One view for every frame: the union of what each would autorange to.

        An animation whose axes jump from frame to frame is unreadable.
        """
        vb = self.plot.getViewBox()
        x0 = y0 = np.inf
        x1 = y1 = -np.inf
        for frame in frames:
            self.plot.set_model(frame.model, None)
            vb.autoRange()
            (a, b), (c, d) = vb.viewRange()
            x0, x1, y0, y1 = min(x0, a), max(x1, b), min(y0, c), max(y1, d)
        vb.disableAutoRange()
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def render(self, frame: Frame) -> np.ndarray:
        """The plot with ``frame``'s model and caption: (H, W, 3) uint8."""
        resp = None if frame.resp is None else frame.resp[self.plot.rows]
        self.plot.set_model(frame.model, resp)
        self.plot.setTitle(frame.caption, color="k", size="11pt")
        QApplication.processEvents()
        image = QImage(*self.size, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            self.plot.render(painter)
        finally:
            painter.end()
        return image_to_rgb(image)

    def close(self) -> None:
        self.plot.close()
        self.plot.deleteLater()


def frames_of(window, kind: str) -> list[Frame]:
    """The frames of the fit on screen: its half-steps, or its last Run's iterations."""
    ds = window.dataset
    offset = ds.log_likelihood_offset()
    if kind == "half_steps":
        s = window.fitting.stepper
        return half_step_frames(ds.X, s.config, s.start, s.n_half_steps, ds.weights, offset)
    result = window.result
    return iteration_frames(ds.X, result.config, result.best_restart, ds.weights,
                            window.fitting.last_run_start, result.n_iter, offset)


def export_animation(window, path: str | None = None, choice: dict | None = None) -> str | None:
    """File ▸ Export ▸ Animation. ``path`` and ``choice`` skip the dialogs (tests).

    Returns the path written, or None (nothing to animate, cancelled, failed).
    """
    stepper = window.fitting.stepper
    can_steps = stepper is not None and stepper.start is not None and stepper.n_half_steps > 0
    can_iterations = window.result is not None and window.dataset is not None
    if window.dataset is None or not (can_steps or can_iterations):
        window.messages.show_messages("info", ["run or step a fit first; the animation "
                                               "shows its iterations or half-steps."])
        return None
    if choice is None:
        dialog = AnimationDialog(window, can_iterations, can_steps)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        choice = dialog.choice()
    if path is None:
        kind = choice["format"]
        path = window.ask_save_path("Export animation", f"{kind.upper()} (*.{kind})",
                                    f"fit.{kind}")
        if not path:
            return None
    try:
        frames = frames_of(window, choice["frames"])
        images = _render_all(window, frames, choice["size"])
        if images is None:
            window._set_status("animation export cancelled")
            return None
        written = write_animation(images, path, choice["fps"])
    except GMMStudioError as exc:
        window.messages.show_messages("error", [str(exc)])
        return None
    window.messages.show_messages("info", [f"wrote {written} ({len(images)} frames)"])
    return str(written)


def _render_all(window, frames: list[Frame], size) -> list[np.ndarray] | None:
    """Every frame drawn, with progress and Cancel; None when cancelled."""
    progress = QProgressDialog("Drawing the frames…", "Cancel", 0, len(frames), window)
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(300)
    renderer = FrameRenderer(window.dataset, window.data_panel.plot_dims(), size)
    images = []
    try:
        renderer.hold_view(frames)
        for i, frame in enumerate(frames):
            if progress.wasCanceled():
                return None
            images.append(renderer.render(frame))
            progress.setValue(i + 1)
    finally:
        renderer.close()
        progress.close()
    return images
