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
from ..errors import GMMStudioError
from . import model_file
from .atomic import atomic_write
from .checks import section, text_list, typed_field
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


_COLUMN_FIELDS = {"label": (str, type(None)), "weights": (str, type(None)),
                  "standardize": (bool,)}
_VIEW_FIELDS = {"x": (str,), "y": (str,), "tab": (int,), "axes": (str,)}


def from_json(doc: Any) -> Session:
    """Validate a parsed session document, every nested field."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"not a GMM Studio session (expected \"format\": \"{FORMAT}\").")
    if doc.get("version") != VERSION:
        raise SessionError(f"session version {doc.get('version')!r} is not supported; this "
                           f"GMM Studio reads version {VERSION}.")
    data = section(doc, "data", SessionError, required=True)
    columns = section(doc, "columns", SessionError, required=True)
    _check_data_ref(data)
    text_list(columns.get("features"), "columns.features", SessionError)
    for name, kinds in _COLUMN_FIELDS.items():
        typed_field(columns, name, kinds, SessionError, "columns")
    view = section(doc, "view", SessionError)
    for name, kinds in _VIEW_FIELDS.items():
        typed_field(view, name, kinds, SessionError, "view")
    try:
        config = FitConfig.from_dict(section(doc, "fit", SessionError))
        model = doc.get("model")
        saved = None if model is None else model_file.from_json_dict(model)
        threshold = AnomalyThreshold.from_dict(section(doc, "anomaly", SessionError))
    except SessionError:
        raise
    except GMMStudioError as exc:
        raise SessionError(f"session is invalid: {exc}") from None
    return Session(data, columns, config, saved, threshold, view)


def _check_data_ref(data: dict) -> None:
    """The data a session names: a bundled sample, a generated set, or a file path."""
    kinds = [k for k in ("sample", "generated", "path") if k in data]
    if len(kinds) != 1:
        raise SessionError("session 'data' must name one of 'sample', 'generated' or 'path'.")
    typed_field(data, kinds[0], (str,), SessionError, "data", required=True)
    typed_field(data, "sha256", (str, type(None)), SessionError, "data")
    # Imported here: both build pandas tables, and pandas takes 0.25 s to import.
    from ..data.samples import GENERATED
    from ..teaching.lectures import LECTURES

    known = [*GENERATED, *LECTURES]
    if kinds == ["generated"] and data["generated"] not in known:
        raise SessionError(f"session 'data.generated' names no known data set "
                           f"({data['generated']!r}); known: {', '.join(known)}.")


def load_session(path: str | Path) -> Session:
    """Read and validate a session file."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"session file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"cannot read session {Path(path).name}: {exc}") from None
    return from_json(doc)
