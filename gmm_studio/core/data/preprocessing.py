"""Optional z-scoring stored with a model, and its Jacobian."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidModelError


@dataclass(frozen=True)
class Preprocessing:
    """Optional z-scoring stored with a model: z = (x - centre) / scale, (D,) each."""

    centre: np.ndarray | None = None
    scale: np.ndarray | None = None

    @property
    def standardize(self) -> bool:
        """True when a transform is applied."""
        return self.centre is not None

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Transform raw rows (N, D) into model coordinates."""
        return X if self.centre is None else (X - self.centre) / self.scale

    def log_jacobian(self) -> float:
        """log |dz/dx| per row: add it to a log-density over z to get one over x."""
        return 0.0 if self.scale is None else float(-np.log(self.scale).sum())

    def to_dict(self) -> dict:
        """JSON-safe form."""
        if self.centre is None:
            return {"standardize": False}
        return {"standardize": True, "centre": self.centre.tolist(),
                "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict, n_features: int) -> Preprocessing:
        """Validate and build from ``to_dict`` output."""
        if not isinstance(data, dict) or not data.get("standardize"):
            return cls()
        try:
            centre = np.asarray(data["centre"], dtype=float)
            scale = np.asarray(data["scale"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise InvalidModelError("preprocessing needs numeric 'centre' and 'scale'.") from None
        if centre.shape != (n_features,) or scale.shape != (n_features,):
            raise InvalidModelError(
                f"preprocessing centre and scale must have {n_features} values.")
        if not (np.all(np.isfinite(centre)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise InvalidModelError("preprocessing values must be finite with positive scale.")
        return cls(centre, scale)

def _fit_standardization(raw: np.ndarray) -> Preprocessing:
    centre = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return Preprocessing(centre, scale)
