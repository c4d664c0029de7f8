"""mclust's noise component in EM: a uniform density 1/V that claims the outliers.

Its weight π_0 is fitted with the others: the E-step gives each row
p(noise | x) ∝ π_0 / V, the M-step sets π_0 = Σ_n w_n p(noise | x_n) / N and
fits the Gaussians to the rest of each row (their weights sum to 1 - π_0).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import FitConfig
from ..errors import InvalidDataError
from .mstep import MStepResult
from .prepared import PreparedData

# The noise component's share at the start: enough to claim clear outliers in
# the first E-step, small enough not to swallow a cluster; EM moves it on.
INITIAL_NOISE_WEIGHT = 0.05


def bounding_volume(data: PreparedData) -> float:
    """Volume of the data's bounding box (product of column ranges), fitted units."""
    lo, hi = data.column_range()
    return float(np.prod(hi - lo))


@dataclasses.dataclass
class Noise:
    """The noise component of one run: its volume V and current weight π_0."""

    volume: float
    weight: float = INITIAL_NOISE_WEIGHT

    @classmethod
    def for_run(cls, data: PreparedData, config: FitConfig) -> Noise:
        """V from the config, or the data's bounding box; refuses a flat box."""
        volume = config.noise_volume or bounding_volume(data)
        if not volume > 0 or not np.isfinite(volume):
            raise InvalidDataError(
                "a noise component needs data that spans a region: a column is constant "
                "(bounding box of volume 0); drop it, or give noise_volume.")
        return cls(volume)

    @property
    def log_prob(self) -> float:
        """log(π_0 / V), every row's noise term."""
        return float(np.log(self.weight) - np.log(self.volume)) if self.weight > 0 else -np.inf

    def start(self, params: MStepResult) -> MStepResult:
        """The first M-step's Gaussians, their weights scaled to leave π_0 for noise."""
        return dataclasses.replace(params, weights=params.weights * (1.0 - self.weight))

    def update(self, params: MStepResult, data: PreparedData, noise_nk: float) -> MStepResult:
        """π_0 = N_0 / N; the Gaussian weights (summing to 1 among them) scaled by 1 - π_0."""
        self.weight = min(max(noise_nk / data.total_weight, 0.0), 1.0 - 1e-12)
        return dataclasses.replace(params, weights=params.weights * (1.0 - self.weight))
