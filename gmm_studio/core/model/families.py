"""The fourteen parsimonious covariance models and their names.

Every component covariance is written Σ_k = λ_k D_k A_k D_kᵀ (Celeux and
Govaert 1995, "Gaussian parsimonious clustering models"): volume λ_k, shape
A_k (diagonal, det 1) and orientation D_k. A model's three-letter name says,
in that order, whether volume, shape and orientation are Equal across
components, Varying, or the Identity (axis-aligned / round), as mclust
names them. Four models are scikit-learn's and keep its names and array
shapes: VVV = "full", EEE = "tied", VVI = "diag", VII = "spherical". The ten
others store ``covariances`` as (K, D, D) full matrices. In one dimension
only volume is left: "E" (equal variance) and "V" (varying).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidConfigError

# mclust's order: spherical, diagonal, then ellipsoidal models.
MCLUST_NAMES = ("EII", "VII", "EEI", "VEI", "EVI", "VVI",
                "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
SKLEARN_TYPES = ("full", "tied", "diag", "spherical")
_SKLEARN_OF = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}
_MCLUST_OF = {v: k for k, v in _SKLEARN_OF.items()}
# Every accepted covariance_type after normalisation, in mclust's order.
COVARIANCE_TYPES = tuple(_SKLEARN_OF.get(name, name) for name in MCLUST_NAMES)
ONE_D_NAMES = {"E": "tied", "V": "full"}

_WORDS = {"E": "equal", "V": "varies", "I": "identity"}


@dataclass(frozen=True)
class CovarianceModel:
    """One member of the family: its letters and how the engine stores it.

    ``layout`` is the shape of ``covariances``: "full" (K, D, D), "tied"
    (D, D), "diag" (K, D), "spherical" (K,) or "general" (K, D, D) for the
    ten models beyond scikit-learn's. ``kernel`` is the covariance layout the
    E-step needs (the cheapest that represents the model) and ``stats`` the
    second moments the M-step needs: "diag" or "full".
    """

    name: str
    volume: str
    shape: str
    orientation: str

    @property
    def covariance_type(self) -> str:
        """The canonical ``covariance_type`` (scikit-learn's name where there is one)."""
        return _SKLEARN_OF.get(self.name, self.name)

    @property
    def layout(self) -> str:
        """Shape of ``covariances`` (see the class docstring)."""
        return self.covariance_type if self.name in _SKLEARN_OF else "general"

    @property
    def kernel(self) -> str:
        """The E-step kernel's covariance layout."""
        if self.layout != "general":
            return self.layout
        if self.orientation == "I":
            return "spherical" if self.shape == "I" else "diag"
        return "full"

    @property
    def diagonal(self) -> bool:
        """Axis-aligned: needs only the diagonal second moments."""
        return self.orientation == "I"

    def describe(self) -> str:
        """The model in words, e.g. "VEV: volume varies, shape equal, orientation varies"."""
        if self.shape == "I":
            return f"{self.name}: spherical, volume {_WORDS[self.volume]}"
        if self.orientation == "I":
            return (f"{self.name}: axis-aligned, volume {_WORDS[self.volume]}, "
                    f"shape {_WORDS[self.shape]}")
        return (f"{self.name}: volume {_WORDS[self.volume]}, shape {_WORDS[self.shape]}, "
                f"orientation {_WORDS[self.orientation]}")

    @property
    def group(self) -> str:
        """"spherical", "diagonal" or "ellipsoidal" (how the window groups them)."""
        if self.shape == "I":
            return "spherical"
        return "diagonal" if self.orientation == "I" else "ellipsoidal"


_MODELS = {name: CovarianceModel(name, *name) for name in MCLUST_NAMES}


def normalise_covariance_type(name: object) -> str:
    """The canonical covariance_type for any accepted spelling.

    Accepts scikit-learn's four names, mclust's fourteen (any case) and the
    one-dimensional "E" and "V". Raises InvalidConfigError otherwise.
    """
    if isinstance(name, str):
        if name in SKLEARN_TYPES:
            return name
        upper = name.upper()
        if upper in _MODELS:
            return _MODELS[upper].covariance_type
        if upper in ONE_D_NAMES:
            return ONE_D_NAMES[upper]
    raise InvalidConfigError(
        f"unknown covariance_type {name!r}; choose one of {', '.join(MCLUST_NAMES)}, "
        f"scikit-learn's {', '.join(SKLEARN_TYPES)}, or E / V for one feature.")


def covariance_model(covariance_type: str) -> CovarianceModel:
    """The model behind a covariance_type (normalised first)."""
    # Looked up some 10^4 times in a model sweep: each spelling is normalised once.
    model = _MODEL_OF.get(covariance_type) if isinstance(covariance_type, str) else None
    if model is None:
        model = _MODELS[mclust_name(normalise_covariance_type(covariance_type))]
        _MODEL_OF[covariance_type] = model
    return model


_MODEL_OF: dict[str, CovarianceModel] = {}


def mclust_name(covariance_type: str, n_features: int | None = None) -> str:
    """mclust's name for a canonical covariance_type; "E" / "V" with one feature."""
    name = _MCLUST_OF.get(covariance_type, covariance_type)
    if n_features == 1:
        return _MODELS[name].volume
    return name


def parse_covariance_types(text: str) -> list[str]:
    """A user's list: "all" (the fourteen), "sklearn" (the four) or comma names.

    Returns canonical names, duplicates removed, in the order given.
    """
    key = text.strip().lower()
    if key == "all":
        return list(COVARIANCE_TYPES)
    if key == "sklearn":
        return list(SKLEARN_TYPES)
    out: list[str] = []
    for part in text.split(","):
        if part.strip():
            name = normalise_covariance_type(part.strip())
            if name not in out:
                out.append(name)
    if not out:
        raise InvalidConfigError("no covariance type given; name some, or 'all' or 'sklearn'.")
    return out


def distinct_types(types: list[str] | tuple[str, ...], n_features: int) -> list[str]:
    """Drop types that are the same model for this many features.

    With one feature only volume is left, so the fourteen reduce to "E" and
    "V" (kept as the first type of each volume in ``types``).
    """
    if n_features != 1:
        return list(dict.fromkeys(types))
    seen: dict[str, str] = {}
    for t in types:
        seen.setdefault(covariance_model(t).volume, t)
    return list(seen.values())


def n_covariance_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of the covariances alone (as mclust's nMclustParams counts them)."""
    m = covariance_model(covariance_type)
    k, d = n_components, n_features
    if d == 1:
        return 1 if m.volume == "E" else k
    def count(letter: str, per_component: int) -> int:
        return {"I": 0, "E": per_component, "V": k * per_component}[letter]

    return count(m.volume, 1) + count(m.shape, d - 1) + count(m.orientation, d * (d - 1) // 2)
