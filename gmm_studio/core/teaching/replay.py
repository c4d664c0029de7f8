"""The models of a fit again, one per iteration or half-step, for an animation.

Fits are deterministic given their settings (and start), so the frames of a
fit on screen are found by running it again rather than by keeping every
model of every fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import FitConfig
from ..engine.fitting import iterate
from ..model.mixture import MixtureModel
from .step_session import StepSession

MAX_FRAMES = 1000


@dataclass(frozen=True)
class Frame:
    """What one frame shows: a model, the responsibilities (N, K) drawn, a caption."""

    model: MixtureModel
    resp: np.ndarray | None
    caption: str


def iteration_frames(X: np.ndarray, config: FitConfig, restart: int,
                     sample_weight: np.ndarray | None = None,
                     initial_model: MixtureModel | None = None,
                     last_iteration: int | None = None, offset: float = 0.0) -> list[Frame]:
    """One Frame per iteration of run ``restart`` of a fit with ``config`` (its models).

    ``last_iteration`` stops where the fit on screen stopped (e.g. a cancelled
    run); at most MAX_FRAMES frames. ``offset`` puts the captions' log L in
    the data file's units.
    """
    frames = []
    for snap in iterate(X, config, sample_weight=sample_weight, initial_model=initial_model):
        if snap.restart < restart:
            continue
        if snap.restart > restart or len(frames) >= MAX_FRAMES:
            break
        caption = f"iteration {snap.iteration} · log L {snap.log_likelihood + offset:.6g}"
        frames.append(Frame(snap.model, None, caption))
        if last_iteration is not None and snap.iteration >= last_iteration:
            break
    return frames


def half_step_frames(X: np.ndarray, config: FitConfig, start: MixtureModel, n_half_steps: int,
                     sample_weight: np.ndarray | None = None, offset: float = 0.0
                     ) -> list[Frame]:
    """The start and a Frame after each of ``n_half_steps`` half-steps (E recolours, M moves).

    ``offset`` puts the captions' log L in the data file's units.
    """
    session = StepSession(X, config, sample_weight, model=start)
    frames = [Frame(start, None, f"start · log L {session.history[-1] + offset:.6g}")]
    for _ in range(min(n_half_steps, MAX_FRAMES - 1)):
        phase = session.step()
        what = "E-step" if phase == "E" else "M-step"
        frames.append(Frame(session.model, session.resp,
                            f"iteration {session.iteration} · {what} · "
                            f"log L {session.history[-1] + offset:.6g}"))
    return frames
