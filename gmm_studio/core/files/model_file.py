"""The versioned model JSON format (docs/model-format.md). No pickle, ever."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import __version__
from ..analysis.anomalies import AnomalyThreshold
from ..config import SKLEARN_TYPES, FitConfig
from ..data.preprocessing import Preprocessing
from ..errors import GMMStudioError, InvalidModelError
from ..model.mixture import MixtureModel
from ..results import FitResult
from .atomic import atomic_write
from .checks import section, text_list, typed_field

if TYPE_CHECKING:  # the dataset module imports pandas (0.25 s); loading a model needs none
    from ..data.dataset import Dataset

FORMAT = "gmm-studio-model"
# Version 2 adds the ten covariance models beyond scikit-learn's four (stored
# as (K, D, D) matrices) and each model's mclust name; version-1 files, which
# can hold only the four, still load. Version 3 adds the noise component
# ("model": {"noise": {"weight", "volume"}}); a model without one is written
# as version 2, so older readers still open it.
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


@dataclass(frozen=True)
class SavedModel:
    """A model with what is needed to apply it to new data by column name."""

    model: MixtureModel
    feature_names: tuple[str, ...]
    preprocessing: Preprocessing = Preprocessing()
    fit: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    anomaly: dict[str, Any] = field(default_factory=dict)


def summarise_fit(result: FitResult, dataset: Dataset) -> dict[str, Any]:
    """The fit's figures in the units of the data file.

    A fit on z-scores has a likelihood over z; adding the transform's Jacobian
    makes log-likelihood, BIC and AIC comparable with unstandardised fits.
    """
    ll, bic, aic = result.criteria(dataset.preprocessing.log_jacobian())
    summary = result.summary()
    summary.update(
        log_likelihood=ll, bic=bic, aic=aic,
        n_parameters=result.n_parameters, n_rows_used=dataset.n_rows,
        n_rows_dropped=dataset.n_dropped, features=list(dataset.feature_names))
    if result.model.has_noise:
        summary.update(noise_weight=result.model.noise_weight,
                       noise_volume=result.model.noise_volume,
                       noise_rows=int(np.count_nonzero(result.labels == -1)))
    return summary


# The fit's figures every model file records, in the data file's units.
RESULT_KEYS = ("log_likelihood", "bic", "aic", "n_parameters", "n_iter", "converged", "status",
               "warnings")


def saved_from_fit(result: FitResult, dataset: Dataset) -> SavedModel:
    """Bundle a fit and its data description."""
    summary = summarise_fit(result, dataset)
    return SavedModel(
        model=result.model,
        feature_names=dataset.feature_names,
        preprocessing=dataset.preprocessing,
        fit=result.config.to_dict(),
        result={k: summary[k] for k in RESULT_KEYS},
        data={"path": dataset.source, "sha256": dataset.sha256, "n_rows_used": dataset.n_rows,
              "n_rows_dropped": dataset.n_dropped, "weights_column": dataset.weight_column},
    )


def to_json_dict(saved: SavedModel) -> dict[str, Any]:
    """The document written to disk."""
    return {
        "format": FORMAT,
        "version": VERSION if saved.model.has_noise else 2,
        "software": f"gmm-studio {__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(saved.feature_names),
        "preprocessing": saved.preprocessing.to_dict(),
        "model": saved.model.to_dict(),
        "fit": saved.fit,
        "result": _finite_or_none(saved.result),
        "data": saved.data,
        "anomaly": saved.anomaly,
    }


def _finite_or_none(values: dict) -> dict:
    # JSON has no NaN or Infinity; null says "not available".
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in values.items()}


def save_model(path: str | Path, saved: SavedModel, *, protect=()) -> Path:
    """Write the model JSON atomically."""
    text = json.dumps(to_json_dict(saved), indent=2, allow_nan=False)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), protect=protect)


# Types of the "result" and "data" fields a model file may carry.
_RESULT_FIELDS = {"log_likelihood": (float, type(None)), "bic": (float, type(None)),
                  "aic": (float, type(None)), "n_parameters": (int,), "n_iter": (int,),
                  "converged": (bool,), "status": (str,), "warnings": (list,)}
_DATA_FIELDS = {"path": (str, type(None)), "sha256": (str, type(None)),
                "n_rows_used": (int,), "n_rows_dropped": (int,),
                "weights_column": (str, type(None))}


def from_json_dict(doc: Any) -> SavedModel:
    """Validate a parsed document, every nested field, and build the SavedModel."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidModelError(f"not a GMM Studio model file (expected \"format\": \"{FORMAT}\").")
    version = doc.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise InvalidModelError(
            f"model file version {version!r} is not supported (this GMM Studio reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}); upgrade GMM Studio or "
            "re-export the model.")
    model = MixtureModel.from_dict(doc.get("model"))
    if version in (1, 2) and model.has_noise:
        raise InvalidModelError(
            f"a version-{version} model file cannot hold a noise component; version 3 "
            "added it.")
    if version == 1 and model.covariance_type not in SKLEARN_TYPES:
        raise InvalidModelError(
            f"a version-1 model file cannot hold covariance model {model.covariance_type!r}; "
            "version 1 knew only full, tied, diag and spherical.")
    names = doc.get("features")
    if (not isinstance(names, list) or len(names) != model.n_features
            or not all(isinstance(n, str) for n in names)):
        raise InvalidModelError(
            f"'features' must list {model.n_features} column names, one per model feature.")
    prep = Preprocessing.from_dict(section(doc, "preprocessing", InvalidModelError),
                                   model.n_features)
    fit = section(doc, "fit", InvalidModelError)
    if fit:
        try:
            FitConfig.from_dict(fit)
        except GMMStudioError as exc:
            raise InvalidModelError(f"model file has invalid fit settings: {exc}") from None
    result = section(doc, "result", InvalidModelError)
    for name, kinds in _RESULT_FIELDS.items():
        typed_field(result, name, kinds, InvalidModelError, "result")
    if "warnings" in result:
        text_list(result["warnings"], "result.warnings", InvalidModelError, non_empty=False)
    data = section(doc, "data", InvalidModelError)
    for name, kinds in _DATA_FIELDS.items():
        typed_field(data, name, kinds, InvalidModelError, "data")
    anomaly = section(doc, "anomaly", InvalidModelError)
    AnomalyThreshold.from_dict(anomaly)
    return SavedModel(model, tuple(names), prep, fit, result, data, anomaly)


def load_model(path: str | Path) -> SavedModel:
    """Read and validate a model JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidModelError(f"model file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidModelError(f"cannot read model file {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidModelError(
            f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    return from_json_dict(doc)
