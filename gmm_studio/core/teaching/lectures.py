"""The lectures' worked examples: tiny data sets with the starting values of the notes.

Each example is data, a starting model and the settings to step it with, so a
student can check one E-step and one M-step by hand. ``collapse`` is the
lectures' warning (K = N, the variance floor off): a component shrinks onto a
point while log L grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import FitConfig
from ..model.gaussian import full_covariances
from ..model.mixture import MixtureModel


@dataclass(frozen=True)
class LectureExample:
    """Data (N rows), the model EM starts from and the settings it steps with."""

    key: str
    title: str
    frame: pd.DataFrame
    start: MixtureModel
    config: FitConfig
    note: str


def one_d() -> LectureExample:
    """X = 1, 2, 5; μ = (1, 5), σ² = (1, 1), π = (½, ½): the lecture's 1-D example."""
    start = MixtureModel(np.array([0.5, 0.5]), np.array([[1.0], [5.0]]),
                         np.array([1.0, 1.0]), "spherical")
    return LectureExample(
        "lecture_1d", "1-D: X = 1, 2, 5", pd.DataFrame({"x": [1.0, 2.0, 5.0]}), start,
        FitConfig(n_components=2, covariance_type="spherical", max_iter=200),
        "The lecture rounds σ₂² after one step to 0.25; the exact value is "
        "0.1613 (N₂ = 1.01799, μ₂ = 4.9457). The lecture's components 1 and 2 are "
        "components 0 and 1 here.")


def two_d() -> LectureExample:
    """Three points in the plane, two round components at two of them.

    Our own example in the lectures' style (their 2-D figures give no
    numbers): x = (1, 2), (2, 1), (4, 5); μ = (1, 1), (4, 4); Σ = I; π = ½.
    """
    start = MixtureModel(np.array([0.5, 0.5]), np.array([[1.0, 1.0], [4.0, 4.0]]),
                         np.array([1.0, 1.0]), "spherical")
    frame = pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": [2.0, 1.0, 5.0]})
    return LectureExample(
        "lecture_2d", "2-D: three points", frame, start,
        FitConfig(n_components=2, covariance_type="spherical", max_iter=200),
        "Round components (Σ = σ²I): one σ² per component, as in the 1-D example.")


def collapse() -> LectureExample:
    """K = N = 6 round components, one on each point, and the variance floor off.

    Each component starts as wide as the data; EM shrinks them until one sits
    on its point alone, its σ² → 0 and log L → +∞ (the lectures' K = N case).
    """
    x = np.array([0.0, 1.0, 1.5, 4.0, 4.6, 7.0])
    k = len(x)
    start = MixtureModel(np.full(k, 1.0 / k), x[:, None], np.full(k, float(x.var())),
                         "spherical")
    return LectureExample(
        "collapse", "Collapse: K = N, no floor", pd.DataFrame({"x": x}), start,
        FitConfig(n_components=k, covariance_type="spherical", variance_floor=0.0,
                  max_iter=200),
        "With the variance floor off, nothing stops a component from shrinking onto "
        "one point: its σ² → 0 and log L → +∞. The default floor (1e-3 of the data's "
        "variance) keeps every σ² above it, so log L stays finite.")


LECTURES = {"lecture_1d": one_d, "lecture_2d": two_d, "collapse": collapse}


def lecture_example(key: str) -> LectureExample:
    """One of LECTURES by key."""
    return LECTURES[key]()


def narrowest_component(session, floor: float = 1e-3) -> str:
    """Words on the narrowest component of a StepSession's model, for the collapse demo.

    Names the component, its smallest variance, the row it sits nearest to,
    and the smallest variance the default floor (``floor`` times the data's
    variance along that direction) would allow it.
    """
    model = session.model
    covariances = full_covariances(model.covariances, model.covariance_type,
                                   model.n_components, model.n_features)
    variances = np.linalg.eigvalsh(covariances)[:, 0]  # (K,) smallest per component
    k = int(np.argmin(variances))
    nearest = session.X[int(np.argmin(((session.X - model.means[k]) ** 2).sum(axis=1)))]
    at = ", ".join(f"{v:.4g}" for v in nearest)
    allowed = floor * float(np.var(session.X, axis=0).mean())
    return (f"Narrowest: component {k}, variance {variances[k]:.3g}, on the point "
            f"({at}). The default floor would keep it at or above {allowed:.3g}.")
