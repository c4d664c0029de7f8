"""The fitted mixture: an immutable value with scoring and (de)serialisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import GMMStudioError, InvalidDataError, InvalidModelError
from ..validation import check_data, check_sample_weight
from .families import covariance_model, mclust_name, normalise_covariance_type
from .gaussian import covariance_shape, full_covariances, n_parameters, precision_cholesky
from .kernels import evaluate


def _frozen(a: object, name: str) -> np.ndarray:
    try:
        arr = np.array(a, dtype=float)
    except (TypeError, ValueError):
        raise InvalidModelError(f"model {name} must be numeric.") from None
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class MixtureModel:
    """A Gaussian mixture: ``weights`` (K,), ``means`` (K, D), ``covariances``.

    ``covariances`` follows scikit-learn's shapes for its four types and is
    (K, D, D) for the ten other models of the family; ``covariance_type`` is
    stored in canonical form ("VVV" becomes "full"). The arrays are read-only
    copies; construction checks shapes, finiteness, that the weights sum to
    1, that axis-aligned models are diagonal and that every covariance is
    positive definite.

    A noise component (mclust's): uniform density 1 / ``noise_volume`` over
    the data's region (in the fitted data's units) with weight
    ``noise_weight``; then the Gaussian weights sum to 1 - noise_weight.
    ``noise_volume`` 0 means no noise component.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"
    noise_weight: float = 0.0
    noise_volume: float = 0.0

    def __post_init__(self) -> None:
        try:
            kind = normalise_covariance_type(self.covariance_type)
        except GMMStudioError as exc:
            raise InvalidModelError(str(exc)) from None
        object.__setattr__(self, "covariance_type", kind)
        for name in ("weights", "means", "covariances"):
            object.__setattr__(self, name, _frozen(getattr(self, name), name))
        _check_shapes(self.weights, self.means, self.covariances, self.covariance_type)
        for name in ("weights", "means", "covariances"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise InvalidModelError(f"model {name} contain NaN or inf.")
        _check_structure(self.covariances, self.covariance_type)
        if covariance_model(kind).layout not in ("diag", "spherical"):
            cov = self.covariances
            # Cholesky reads one triangle only: an asymmetric matrix would pass unseen.
            if not np.allclose(cov, np.swapaxes(cov, -1, -2), rtol=1e-8,
                               atol=1e-12 * float(np.abs(cov).max())):
                raise InvalidModelError("covariance matrices must be symmetric.")
        _check_noise(self.noise_weight, self.noise_volume)
        total = self.weights.sum() + self.noise_weight
        if np.any(self.weights < 0) or abs(total - 1.0) > 1e-6:
            raise InvalidModelError(
                f"mixture weights must be >= 0 and sum to 1 (sum is {total:.6g})."
            )
        prec = precision_cholesky(self.covariances, self.covariance_type)
        prec.setflags(write=False)
        object.__setattr__(self, "_prec_chol", prec)

    @classmethod
    def trusted(cls, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
                covariance_type: str, noise_weight: float = 0.0,
                noise_volume: float = 0.0, prec_chol: np.ndarray | None = None
                ) -> MixtureModel:
        """A model from arrays the engine built itself, checked only where it can fail.

        The engine's M-step gives canonical types, the right shapes and
        symmetric matrices by construction; what data can still break is
        finiteness and positive definiteness, and those are checked. Full
        validation costs more than a whole EM iteration on small data.
        ``prec_chol``: the covariances' precision factors, when the engine
        already has them (a batch's E-step used them); computed otherwise.
        """
        model = object.__new__(cls)
        for name, value in (("weights", weights), ("means", means),
                            ("covariances", covariances)):
            arr = _frozen(value, name)
            if not np.isfinite(arr).all():
                raise InvalidModelError(f"model {name} contain NaN or inf.")
            object.__setattr__(model, name, arr)
        object.__setattr__(model, "covariance_type", covariance_type)
        object.__setattr__(model, "noise_weight", float(noise_weight))
        object.__setattr__(model, "noise_volume", float(noise_volume))
        if prec_chol is None:
            prec = precision_cholesky(model.covariances, covariance_type)
        else:
            prec = _frozen(prec_chol, "precision factors")
            if prec.shape != model.covariances.shape or not np.isfinite(prec).all():
                raise InvalidModelError("precision factors must be finite, shaped as the "
                                        "covariances.")
        prec.setflags(write=False)
        object.__setattr__(model, "_prec_chol", prec)
        return model

    # -- sizes ---------------------------------------------------------------
    @property
    def n_components(self) -> int:
        """K."""
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        """D."""
        return int(self.means.shape[1])

    @property
    def precisions_cholesky(self) -> np.ndarray:
        """Cholesky factors of the precision matrices (scikit-learn's layout)."""
        return self._prec_chol

    @property
    def mclust_name(self) -> str:
        """The model's name in mclust's terms (VVV, VEV, ...; E / V with one feature)."""
        return mclust_name(self.covariance_type, self.n_features)

    @property
    def n_parameters(self) -> int:
        """Free parameters counted by BIC and AIC.

        A noise component adds two, its weight and its volume, as mclust
        counts them (nMclustParams(noise = TRUE)), so criteria compare with its.
        """
        return (n_parameters(self.n_components, self.n_features, self.covariance_type)
                + 2 * int(self.has_noise))

    @property
    def has_noise(self) -> bool:
        """True with a uniform noise component."""
        return self.noise_volume > 0

    @property
    def noise_log_prob(self) -> float:
        """log(noise_weight / noise_volume), the noise term of every row (-inf without)."""
        if not self.has_noise or self.noise_weight <= 0:
            return -np.inf
        return float(np.log(self.noise_weight) - np.log(self.noise_volume))

    # -- scoring -------------------------------------------------------------
    def weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """log(weight_k) + log N(x | k) for every row: (N, K)."""
        X = check_data(X, n_features=self.n_features)
        return evaluate(X, self.weights, self.means, self._prec_chol, self.covariance_type,
                        posterior=False)[0]

    def posterior(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Responsibilities p(k | x) (N, K) and log p(x) (N,) in one evaluation.

        With a noise component the rows sum to 1 - p(noise | x).
        """
        X = check_data(X, n_features=self.n_features)
        if not self.has_noise:
            return evaluate(X, self.weights, self.means, self._prec_chol,
                            self.covariance_type, posterior=True)
        from scipy.special import logsumexp  # lazily: scipy takes 0.2 s to import

        log_joint = self.weighted_log_prob(X)
        log_dens = np.logaddexp(logsumexp(log_joint, axis=1), self.noise_log_prob)
        return np.exp(log_joint - log_dens[:, None]), log_dens

    def noise_posterior(self, X: np.ndarray) -> np.ndarray:
        """p(noise | x) of every row (N,); zeros without a noise component."""
        if not self.has_noise:
            return np.zeros(len(np.asarray(X)))
        return np.exp(self.noise_log_prob - self.score_samples(X))

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """log p(x) of every row: (N,)."""
        return self.posterior(X)[1]

    def log_likelihood(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Total (weighted) log-likelihood of the rows of X."""
        log_p = self.score_samples(X)
        w = check_sample_weight(sample_weight, len(log_p))
        return float(log_p.sum() if w is None else w @ log_p)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Responsibilities p(k | x): (N, K), rows sum to 1 (less p(noise | x))."""
        return self.posterior(X)[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable component of every row: (N,) ints, -1 where noise is likeliest."""
        log_joint = self.weighted_log_prob(X)
        labels = np.argmax(log_joint, axis=1)
        if self.has_noise:
            labels[log_joint.max(axis=1) < self.noise_log_prob] = -1
        return labels

    def bic(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Bayesian information criterion, -2 log L + p log n (smaller is better)."""
        n = _effective_n(X, sample_weight)
        return -2.0 * self.log_likelihood(X, sample_weight) + self.n_parameters * np.log(n)

    def aic(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Akaike information criterion, -2 log L + 2 p (smaller is better)."""
        return -2.0 * self.log_likelihood(X, sample_weight) + 2.0 * self.n_parameters

    def sample(self, n: int, rng: np.random.Generator | int | None = None):
        """Draw ``n`` points: returns (X (n, D), labels (n,)); Gaussian components only."""
        if self.has_noise:
            raise InvalidModelError(
                "a noise component knows its volume, not its region, so it cannot be "
                "sampled; sample the Gaussian components of a model without noise.")
        rng = np.random.default_rng(rng)
        counts = rng.multinomial(int(n), self.weights)
        labels = np.repeat(np.arange(self.n_components), counts)
        X = np.empty((int(n), self.n_features))
        start = 0
        for k, count in enumerate(counts):
            cov = _component_covariance(self, k)
            X[start:start + count] = rng.multivariate_normal(self.means[k], cov, size=count)
            start += count
        return X, labels

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; ``from_dict`` restores an equal model."""
        return {
            "covariance_type": self.covariance_type,
            "mclust_name": self.mclust_name,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            **({"noise": {"weight": self.noise_weight, "volume": self.noise_volume}}
               if self.has_noise else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MixtureModel:
        """Build and validate a model from ``to_dict`` output."""
        if not isinstance(data, dict):
            raise InvalidModelError("a model must be a JSON object.")
        missing = [k for k in ("covariance_type", "weights", "means", "covariances")
                   if k not in data]
        if missing:
            raise InvalidModelError(f"model is missing field(s): {', '.join(missing)}.")
        noise = data.get("noise") or {}
        if not isinstance(noise, dict) or set(noise) - {"weight", "volume"}:
            raise InvalidModelError("model noise must be {\"weight\": w, \"volume\": V}.")
        model = cls(
            weights=data["weights"],
            means=data["means"],
            covariances=data["covariances"],
            covariance_type=data["covariance_type"],
            noise_weight=noise.get("weight", 0.0),
            noise_volume=noise.get("volume", 0.0),
        )
        named = data.get("mclust_name")
        if named is not None and named != model.mclust_name:
            raise InvalidModelError(
                f"model says mclust_name {named!r} but its covariance_type "
                f"{model.covariance_type!r} is mclust's {model.mclust_name!r}.")
        return model


def _check_noise(weight, volume) -> None:
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
             for v in (weight, volume))
    if not ok or volume < 0 or not 0 <= weight < 1 or (volume == 0 and weight != 0):
        raise InvalidModelError(
            f"a noise component needs a volume > 0 and a weight in [0, 1) (got weight "
            f"{weight!r}, volume {volume!r}); without one both are 0.")


def _check_shapes(weights, means, covariances, covariance_type) -> None:
    if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] < 1:
        raise InvalidModelError(f"model means must be (K, D), got shape {means.shape}.")
    k, d = means.shape
    if weights.shape != (k,):
        raise InvalidModelError(f"model weights must have shape ({k},), got {weights.shape}.")
    expected = covariance_shape(k, d, covariance_type)
    if covariances.shape != expected:
        raise InvalidModelError(
            f"{covariance_type} covariances must have shape {expected}, got {covariances.shape}."
        )


def _check_structure(covariances: np.ndarray, covariance_type: str) -> None:
    """Axis-aligned models stored as (K, D, D) must be diagonal (spherical: round)."""
    spec = covariance_model(covariance_type)
    if spec.layout != "general" or not spec.diagonal:
        return
    diag = np.diagonal(covariances, axis1=1, axis2=2)
    off = covariances - diag[:, :, None] * np.eye(covariances.shape[1])
    size = float(np.abs(diag).max()) if diag.size else 0.0
    if np.abs(off).max(initial=0.0) > 1e-12 * size:
        raise InvalidModelError(f"{spec.name} covariances must be diagonal matrices.")
    if spec.shape == "I" and np.abs(diag - diag[:, :1]).max(initial=0.0) > 1e-12 * size:
        raise InvalidModelError(f"{spec.name} covariances must be multiples of the identity.")


def _component_covariance(model: MixtureModel, k: int) -> np.ndarray:
    return full_covariances(model.covariances, model.covariance_type, model.n_components,
                            model.n_features)[k]


def _effective_n(X: np.ndarray, sample_weight) -> float:
    n_rows = len(X)
    w = check_sample_weight(sample_weight, n_rows)
    n = float(n_rows if w is None else w.sum())
    if n <= 0:
        raise InvalidDataError("no rows to score.")
    return n
