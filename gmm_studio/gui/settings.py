"""Where the window keeps its settings (layout, last folder, last fit settings)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings

from ..core import FitConfig, GMMStudioError

MAX_RECENT = 8


def make_settings() -> QSettings:
    """QSettings in the user's config dir, or in $GMM_STUDIO_CONFIG_DIR (tests)."""
    folder = os.environ.get("GMM_STUDIO_CONFIG_DIR")
    if folder:
        return QSettings(str(Path(folder) / "gmm-studio.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     "GMM Studio", "gmm-studio")


def load_config(settings: QSettings) -> FitConfig:
    """The last fit settings, or defaults when absent or invalid."""
    text = settings.value("fit/config", "")
    try:
        return FitConfig.from_dict(json.loads(text)) if text else FitConfig()
    except (ValueError, TypeError, GMMStudioError):
        return FitConfig()


def save_config(settings: QSettings, config: FitConfig) -> None:
    """Remember the fit settings."""
    settings.setValue("fit/config", json.dumps(config.to_dict()))


def recent_files(settings: QSettings) -> list[str]:
    """Recently opened files, newest first."""
    value = settings.value("files/recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent(settings: QSettings, path: str) -> list[str]:
    """Put ``path`` first in the recent list and return the list."""
    paths = [path] + [p for p in recent_files(settings) if p != path]
    settings.setValue("files/recent", paths[:MAX_RECENT])
    return paths[:MAX_RECENT]
