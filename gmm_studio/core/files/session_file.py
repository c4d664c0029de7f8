"""Session files (``.gmmstudio``): data reference, columns, settings, model, threshold.

Plain versioned JSON. Reopening restores the model without refitting; the
data file is found by path and checked by SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.anomalies import AnomalyThreshold
from ..config import FitConfig
from ..errors import GMMStudioError, InvalidModelError
from . import model_file
from .atomic import atomic_write
from .model_file import SavedModel

FORMAT = "gmm-studio-session"
VERSION = 1
SUFFIX = ".gmmstudio"


class SessionError(GMMStudioError):
    """A session file is unreadable or invalid."""


@dataclass(frozen=True)
class Session:
    """Everything needed to put the window back as it was.

    data: {"path", "sha256"} for a file, or {"sample": name} / {"generated": key}.
    columns: {"features": [...], "label", "weights", "standardize"}.
    view: free-form view state (plotted axes, current tab).
    """

    data: dict[str, Any]
    columns: dict[str, Any]
    config: FitConfig
    saved_model: SavedModel | None = None
    threshold: AnomalyThreshold | None = None
    view: dict[str, Any] = field(default_factory=dict)


def session_to_json(session: Session) -> dict[str, Any]:
    """The document written to disk."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "data": session.data,
        "columns": session.columns,
        "fit": session.config.to_dict(),
        "model": (None if session.saved_model is None
                  else model_file.to_json_dict(session.saved_model)),
        "anomaly": None if session.threshold is None else session.threshold.to_dict(),
        "view": session.view,
    }


def save_session(path: str | Path, session: Session) -> Path:
    """Write a session atomically."""
    text = json.dumps(session_to_json(session), indent=2, allow_nan=False)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def from_json(doc: Any) -> Session:
    """Validate a parsed session document."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"not a GMM Studio session (expected \"format\": \"{FORMAT}\").")
    if doc.get("version") != VERSION:
        raise SessionError(f"session version {doc.get('version')!r} is not supported; this "
                           f"GMM Studio reads version {VERSION}.")
    data, columns = doc.get("data"), doc.get("columns")
    if not isinstance(data, dict) or not isinstance(columns, dict):
        raise SessionError("session is missing its 'data' or 'columns' section.")
    if not isinstance(columns.get("features"), list) or not columns["features"]:
        raise SessionError("session 'columns.features' must list the feature columns.")
    try:
        config = FitConfig.from_dict(doc.get("fit") or {})
        saved = None if doc.get("model") is None else model_file.from_json_dict(doc["model"])
        threshold = AnomalyThreshold.from_dict(doc.get("anomaly"))
    except (InvalidModelError, GMMStudioError) as exc:
        raise SessionError(f"session is invalid: {exc}") from None
    return Session(data, columns, config, saved, threshold, doc.get("view") or {})


def load_session(path: str | Path) -> Session:
    """Read and validate a session file."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"session file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"cannot read session {Path(path).name}: {exc}") from None
    return from_json(doc)
