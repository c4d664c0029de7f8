"""Fit settings shared by the engine, the CLI and the window."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import InvalidConfigError
from .model.families import COVARIANCE_TYPES, SKLEARN_TYPES, normalise_covariance_type

__all__ = ["ALGORITHMS", "COVARIANCE_TYPES", "DEFAULT_VARIANCE_FLOOR", "DTYPES", "INITS",
           "SKLEARN_TYPES", "FitConfig"]

ALGORITHMS = ("em", "hard_em", "kmeans", "soft_kmeans")
INITS = ("kmeans++", "kmeans", "random", "random_from_data", "hierarchical")
DTYPES = ("float64", "float32")

# Smallest variance a component may have along any direction, as a fraction of
# the data's total variance in that direction (model.floor: whitened by the
# data's covariance for ellipsoidal models, per column for axis-aligned ones).
# 1e-3 lets a component be ~30x narrower than the data's spread, yet keeps it
# well above the quantisation variance of integer-valued columns such as Old
# Faithful's `waiting` (1/12 min^2 against a total of ~184 min^2, i.e. 4.5e-4),
# so no component can collapse onto a repeated value and "win" the likelihood.
DEFAULT_VARIANCE_FLOOR = 1e-3


# The smallest variance floor single precision is accurate with (see FitConfig).
FLOAT32_MIN_FLOOR = 1e-4


@dataclass(frozen=True)
class FitConfig:
    """Everything that determines a fit, apart from the data.

    ``tol`` is on the per-sample mean log-likelihood (as in scikit-learn).
    ``random_state`` is an int seed or None (fresh entropy).
    ``covariance_type`` takes any name of the family (``model.families``) and
    is stored in canonical form: "VVV" becomes "full", "vev" becomes "VEV".

    ``algorithm="soft_kmeans"`` is soft EM with every covariance fixed to
    σ²I (the lectures' "soft k-means"): ``sigma`` is σ in the fitted data's
    units, or None for the pooled spread of the starting partition; with
    ``equal_weights`` the weights stay 1/K. Like k-means, it ignores
    ``covariance_type``: its components are always round.

    ``noise`` adds mclust's uniform noise component, density 1/V over the
    data's bounding box (V = ``noise_volume`` when given, in the fitted
    data's units), its weight fitted by EM with the others (soft EM only).
    """

    algorithm: str = "em"
    n_components: int = 3
    covariance_type: str = "full"
    init: str = "kmeans++"
    n_init: int = 1
    max_iter: int = 500
    # Per-row gain; scikit-learn's 1e-3 stops Old Faithful ~0.2 log-L short of
    # the optimum, visibly unconverged in the curve.
    tol: float = 1e-6
    variance_floor: float = DEFAULT_VARIANCE_FLOOR
    random_state: int | None = 0
    dtype: str = "float64"
    sigma: float | None = None
    equal_weights: bool = True
    noise: bool = False
    noise_volume: float | None = None

    def __post_init__(self) -> None:
        _check_choice("algorithm", self.algorithm, ALGORITHMS)
        object.__setattr__(self, "covariance_type",
                           normalise_covariance_type(self.covariance_type))
        if self.sigma is not None:
            _check_number("sigma", self.sigma, 0.0)
            if self.sigma <= 0:
                raise InvalidConfigError("sigma must be above 0, or None to estimate it.")
        if not isinstance(self.noise, bool):
            raise InvalidConfigError(f"noise must be true or false, got {self.noise!r}.")
        if self.noise and self.algorithm != "em":
            raise InvalidConfigError(
                "a noise component is fitted by soft EM only; choose algorithm 'em' or "
                "turn noise off.")
        if self.noise_volume is not None:
            _check_number("noise_volume", self.noise_volume, 0.0)
            if not self.noise_volume > 0:
                raise InvalidConfigError(
                    "noise_volume must be above 0, or None for the data's bounding box.")
        if not isinstance(self.equal_weights, bool):
            raise InvalidConfigError(
                f"equal_weights must be true or false, got {self.equal_weights!r}.")
        _check_choice("init", self.init, INITS)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_int("n_components", self.n_components, 1)
        _check_int("n_init", self.n_init, 1)
        _check_int("max_iter", self.max_iter, 0)
        _check_number("tol", self.tol, 0.0)
        _check_number("variance_floor", self.variance_floor, 0.0)
        if self.variance_floor >= 1.0:
            raise InvalidConfigError(
                f"variance_floor={self.variance_floor} would stop every component "
                "from being narrower than the whole data set; use a value below 1 "
                f"(default {DEFAULT_VARIANCE_FLOOR})."
            )
        if self.dtype == "float32" and self.variance_floor < FLOAT32_MIN_FLOOR:
            # The passes expand (x - m)'P(x - m); in float32 a component narrower
            # than this, far from the data's centre, loses its spread to rounding
            # (measured: 0.2 % error in log L at 1e-6, not positive definite at 0).
            raise InvalidConfigError(
                f"single precision (float32) needs a variance floor of at least "
                f"{FLOAT32_MIN_FLOOR:g}, got {self.variance_floor:g}: narrow components "
                "lose their spread to rounding. Raise the floor or use float64.")
        if self.random_state is not None:
            _check_int("random_state", self.random_state, 0)

    def replace(self, **changes: Any) -> FitConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the settings."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitConfig:
        """Build from ``to_dict`` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidConfigError(
                f"unknown fit setting(s) {unknown}; known settings are {sorted(known)}."
            )
        return cls(**data)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidConfigError(
            f"unknown {name} {value!r}; choose one of {', '.join(choices)}."
        )


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidConfigError(
            f"{name} must be a whole number >= {minimum}, got {value!r}."
        )


def _check_number(name: str, value: object, minimum: float) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (value >= minimum) or value != value or value == float("inf"):
        raise InvalidConfigError(f"{name} must be a finite number >= {minimum}, got {value!r}.")
