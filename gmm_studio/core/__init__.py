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

from importlib import import_module

from .config import ALGORITHMS, COVARIANCE_TYPES, DEFAULT_VARIANCE_FLOOR, INITS, FitConfig
from .engine.fitting import fit, iterate
from .errors import (
    FitError,
    GMMStudioError,
    InvalidConfigError,
    InvalidDataError,
    InvalidModelError,
)
from .model.mixture import MixtureModel
from .results import FitResult, Snapshot

# The file formats and the teaching helpers load on first use: a command that
# only fits (say ``select``) then does not pay for importing them.
_LAZY = {"load_model": ".files.model_file", "load_session": ".files.session_file",
         "lower_bound": ".teaching.bound", "e_step": ".teaching.half_steps",
         "hard_responsibilities": ".teaching.half_steps", "m_step": ".teaching.half_steps"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
