"""GMM Studio's numerical core: numpy, scipy and pandas only, never Qt.

The public engine API (a contract for the CLI, the window and scripts):
``FitConfig``, ``MixtureModel``, ``fit``, ``iterate``, ``e_step``, ``m_step``,
``Snapshot``, ``FitResult``, ``load_model``, ``load_session``, ``lower_bound`` and the
error types.

The subpackages say what they hold: ``model`` (the mixture and its
densities), ``engine`` (fitting), ``data`` (files to matrices), ``analysis``
(choosing K, comparison, anomalies), ``files`` (formats and atomic writes)
and ``teaching`` (half-steps).
"""

from .config import ALGORITHMS, COVARIANCE_TYPES, DEFAULT_VARIANCE_FLOOR, INITS, FitConfig
from .engine.fitting import fit, iterate
from .errors import (
    FitError,
    GMMStudioError,
    InvalidConfigError,
    InvalidDataError,
    InvalidModelError,
)
from .files.model_file import load_model
from .files.session_file import load_session
from .model.mixture import MixtureModel
from .results import FitResult, Snapshot
from .teaching.bound import lower_bound
from .teaching.half_steps import e_step, hard_responsibilities, m_step

__all__ = [
    "ALGORITHMS",
    "COVARIANCE_TYPES",
    "DEFAULT_VARIANCE_FLOOR",
    "INITS",
    "FitConfig",
    "FitError",
    "FitResult",
    "GMMStudioError",
    "InvalidConfigError",
    "InvalidDataError",
    "InvalidModelError",
    "MixtureModel",
    "Snapshot",
    "e_step",
    "fit",
    "hard_responsibilities",
    "iterate",
    "load_model",
    "load_session",
    "lower_bound",
    "m_step",
]
