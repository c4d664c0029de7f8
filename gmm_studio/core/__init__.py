"""GMM Studio's numerical core: numpy, scipy and pandas only, never Qt.

The public engine API (a contract for the CLI, the window and scripts):
``FitConfig``, ``MixtureModel``, ``fit``, ``iterate``, ``e_step``, ``m_step``,
``Snapshot``, ``FitResult`` and the error types.
"""

from .config import ALGORITHMS, COVARIANCE_TYPES, DEFAULT_VARIANCE_FLOOR, INITS, FitConfig
from .engine import fit, iterate
from .errors import (
    FitError,
    GMMStudioError,
    InvalidConfigError,
    InvalidDataError,
    InvalidModelError,
)
from .model import MixtureModel
from .results import FitResult, Snapshot
from .steps import e_step, hard_responsibilities, m_step

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
    "m_step",
]
