"""Writing files atomically (temp file + rename) with the user's umask."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GMMStudioError

if TYPE_CHECKING:  # pandas takes 0.25 s to import; only writers of tables need it
    import pandas as pd


class ExportError(GMMStudioError):
    """A result could not be written where asked."""

def atomic_write(path: str | Path, write: Callable[[Path], None], *,
                 protect: list[str | Path] = ()) -> Path:
    """Write through ``write(tmp_path)`` into a temp file, then rename onto ``path``.

    A failure leaves no partial file. Refuses to overwrite any file in ``protect``
    (e.g. the input data).
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: folder {folder} does not exist.")
    for other in protect:
        if other and Path(other).exists() and path.exists() and os.path.samefile(path, other):
            raise ExportError(f"refusing to overwrite the input file {path}; choose another name.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write to {folder}: {exc.strerror or exc}.") from None
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file private (0600); a saved file should get the
        # mode any other program would give it, i.e. 0666 less the umask.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}.") from None
        raise
    return path

def current_umask() -> int:
    """The process's umask (read without changing it, where /proc says it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask

_UMASK_LOCK = threading.Lock()

def write_csv(path: str | Path, frame: pd.DataFrame, *, protect=()) -> Path:
    """Write a DataFrame as UTF-8 CSV atomically (no index)."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False), protect=protect)
