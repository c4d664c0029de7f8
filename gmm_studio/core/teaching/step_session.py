"""EM one half-step at a time, for teaching: E-step, then M-step, and so on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import FitConfig
from ..engine.fitting import fit
from ..model.mixture import MixtureModel
from .bound import lower_bound
from .half_steps import e_step, hard_responsibilities, m_step


@dataclass(frozen=True)
class HalfStep:
    """One point of the step trace: after ``phase`` ("start", "E" or "M").

    ``position`` is where it sits on the iteration axis (an E-step half-way);
    ``bound`` is L(q, θ) for the q and θ in force then (None before the first
    E-step, when there is no q yet), so ``log_likelihood - bound`` is the KL gap.
    """

    phase: str
    position: float
    log_likelihood: float
    bound: float | None

    @property
    def gap(self) -> float | None:
        """KL(q ‖ p(z | x, θ)), summed over rows; None without a q."""
        return None if self.bound is None else self.log_likelihood - self.bound


class StepSession:
    """Alternates E- and M-steps on the whole data set.

    ``phase`` names the next half-step: "init" (no model yet), "E" or "M".
    ``history`` holds the log-likelihood of every model so far (after each
    M-step), so in soft EM it never decreases. ``trace`` holds a HalfStep
    after the start and after every half-step: log L and the lower bound.
    """

    def __init__(self, X: np.ndarray, config: FitConfig,
                 sample_weight: np.ndarray | None = None,
                 model: MixtureModel | None = None):
        self.X, self.config, self.sample_weight = X, config, sample_weight
        self.model = model
        self.start = model  # the model the half-steps start from (after "init")
        self.n_half_steps = 0
        self.resp: np.ndarray | None = None
        self.iteration = 0
        self.history: list[float] = []
        self.trace: list[HalfStep] = []
        self.phase = "init" if model is None else "E"
        if model is not None:
            self.history.append(model.log_likelihood(X, sample_weight))
            self.trace.append(HalfStep("start", 0.0, self.history[-1], None))

    def step(self) -> str:
        """Do the next half-step; returns which one ran ("init", "E" or "M")."""
        done = self.phase
        if done == "init":
            start = fit(self.X, self.config.replace(max_iter=0, n_init=1),
                        sample_weight=self.sample_weight)
            self.model = self.start = start.model
            self.history = [start.log_likelihood]
            self.trace = [HalfStep("start", 0.0, start.log_likelihood, None)]
            self.phase = "E"
        elif done == "E":
            resp, _ = e_step(self.model, self.X)
            if self.config.algorithm in ("hard_em", "kmeans"):
                resp = hard_responsibilities(resp)
            self.resp = resp
            self.trace.append(HalfStep("E", self.iteration + 0.5, self.history[-1],
                                       self._bound()))
            self.phase = "M"
        else:
            self.model = m_step(self.X, self.resp, self.config.covariance_type,
                                self.config.variance_floor, self.sample_weight,
                                algorithm=self.config.algorithm, sigma=self._sigma(),
                                equal_weights=self.config.equal_weights,
                                noise_volume=self.model.noise_volume)
            self.iteration += 1
            self.history.append(self.model.log_likelihood(self.X, self.sample_weight))
            self.trace.append(HalfStep("M", float(self.iteration), self.history[-1],
                                       self._bound()))
            self.phase = "E"
        if done != "init":
            self.n_half_steps += 1
        return done

    def _sigma(self) -> float | None:
        """Soft k-means' fixed spread: the config's, or the one the run started with."""
        if self.config.sigma is not None or self.config.algorithm != "soft_kmeans":
            return self.config.sigma
        return float(np.sqrt(self.model.covariances.flat[0]))

    def _bound(self) -> float:
        """L(q, θ) for the current responsibilities and model."""
        return lower_bound(self.X, self.model, self.resp, self.sample_weight)
