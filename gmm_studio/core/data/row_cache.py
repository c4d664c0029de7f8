"""Out-of-core fitting: files bigger than memory, streamed in chunks every pass.

The chosen columns are converted once into a binary row cache (float64, row
major) and read back block by block with ``np.fromfile``. Memory maps would be
simpler, but an address-space limit counts every mapping, so reading keeps the
footprint at the block size whatever the file size. Soft EM only: hard EM and
k-means keep one label per row, which is O(N) memory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidDataError
from ..files.atomic import atomic_write
from .chunked import iter_chunks

CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class RowCache:
    """Rows (N, D) of float64 on disk; ``cache[a:b]`` or ``cache[rows]`` reads them."""

    path: str
    n_rows: int
    feature_names: tuple[str, ...]
    n_dropped: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """(N, D)."""
        return self.n_rows, len(self.feature_names)

    ndim = 2
    chunked = True  # engine.prepare streams it instead of loading it

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, key) -> np.ndarray:
        d = len(self.feature_names)
        if isinstance(key, slice):
            start, stop, step = key.indices(self.n_rows)
            if step != 1:
                raise IndexError("row cache slices must be contiguous")
            count = max(stop - start, 0)
            return np.fromfile(self.path, dtype=np.float64, count=count * d,
                               offset=start * d * 8).reshape(count, d)
        rows = np.atleast_1d(np.asarray(key, dtype=np.int64))
        out = np.stack([self[int(r):int(r) + 1][0] for r in rows])
        return out[0] if np.ndim(key) == 0 else out


def cache_dir() -> Path:
    """$GMM_STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/gmm-studio, else ~/.cache/gmm-studio."""
    folder = os.environ.get("GMM_STUDIO_CACHE_DIR") or (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gmm-studio")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def _key(path: Path, columns: list[str] | None) -> str:
    stat = path.stat()
    text = json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns, columns])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def build_cache(path: str | Path, columns: list[str] | None = None,
                chunk_rows: int = CHUNK_ROWS) -> RowCache:
    """Convert the chosen columns of ``path`` into a row cache (reused if unchanged).

    Rows with a missing value are dropped and counted; inf is rejected.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidDataError(f"file not found: {path}")
    key = _key(path, columns)
    data_file, meta_file = cache_dir() / f"{key}.rows", cache_dir() / f"{key}.json"
    if meta_file.exists() and data_file.exists():
        meta = json.loads(meta_file.read_text())
        os.utime(meta_file)  # recently used: evicted last
        return RowCache(str(data_file), meta["n_rows"], tuple(meta["columns"]), meta["dropped"])
    n_rows = dropped = 0
    names: list[str] | None = columns

    def write(tmp: Path) -> None:
        nonlocal n_rows, dropped, names
        with open(tmp, "wb") as out:
            for chunk in iter_chunks(path, chunk_rows):
                chunk.columns = [str(c).strip() for c in chunk.columns]
                if names is None:
                    names = [c for c in chunk.columns
                             if pd.api.types.is_numeric_dtype(chunk[c])]
                missing = [c for c in names if c not in chunk.columns]
                if missing:
                    raise InvalidDataError(f"unknown column(s) {missing}; the file has: "
                                           f"{', '.join(chunk.columns)}.")
                values = chunk[names].apply(pd.to_numeric, errors="coerce").to_numpy(float)
                if np.isinf(values).any():
                    raise InvalidDataError(
                        f"infinite value near data row {n_rows + dropped + 1}; fix or remove it.")
                keep = ~np.isnan(values).any(axis=1)
                dropped += int((~keep).sum())
                n_rows += int(keep.sum())
                np.ascontiguousarray(values[keep]).tofile(out)

    atomic_write(data_file, write)
    if not names:
        raise InvalidDataError("the file has no numeric column to fit.")
    if n_rows == 0:
        raise InvalidDataError("no complete rows to fit in the chosen columns.")
    meta_file.write_text(json.dumps({"n_rows": n_rows, "columns": names, "dropped": dropped,
                                     "source": str(path.resolve()), "columns_asked": columns}))
    evict(keep=key, source=str(path.resolve()), columns=columns)
    return RowCache(str(data_file), n_rows, tuple(names), dropped)


def cache_limit_bytes() -> int:
    """$GMM_STUDIO_CACHE_LIMIT_GB (default 20) as bytes: the cache's size cap."""
    value = os.environ.get("GMM_STUDIO_CACHE_LIMIT_GB", "")
    try:
        return int(float(value) * 2**30) if value else 20 * 2**30
    except ValueError:
        return 20 * 2**30


def evict(keep: str, source: str, columns: list[str] | None) -> list[str]:
    """Delete stale cache entries; returns the keys removed.

    An entry for the same file and columns as ``keep`` is an older version of
    that file (it was edited): it goes at once. Beyond the size cap, the least
    recently used entries go too, never ``keep``.
    """
    folder = cache_dir()
    entries = []  # (last used, key, size in bytes, an older copy of this file)
    for meta_file in folder.glob("*.json"):
        key = meta_file.stem
        if key == keep:
            continue
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            meta = {}
        rows = folder / f"{key}.rows"
        older = (meta.get("source") == source
                 and meta.get("columns_asked", meta.get("columns")) == columns)
        entries.append((meta_file.stat().st_mtime, key,
                        rows.stat().st_size if rows.exists() else 0, older))
    kept = folder / f"{keep}.rows"
    total = kept.stat().st_size if kept.exists() else 0
    removed = []
    # Newest first: what no longer fits under the cap is the least recently used.
    for _, key, size, older in sorted(entries, reverse=True):
        total += size
        if older or total > cache_limit_bytes():
            for suffix in (".rows", ".json"):
                (folder / f"{key}{suffix}").unlink(missing_ok=True)
            removed.append(key)
            total -= size
    return removed


def subsample(cache: RowCache, size: int, seed: int | None) -> np.ndarray:
    """About ``size`` rows drawn uniformly, chunk by chunk (Bernoulli sampling): (n, D)."""
    rng = np.random.default_rng(seed)
    fraction = min(1.0, size / max(cache.n_rows, 1))
    parts = []
    for start in range(0, cache.n_rows, CHUNK_ROWS):
        rows = cache[start:start + CHUNK_ROWS]
        parts.append(rows[rng.random(len(rows)) < fraction])
    return np.vstack(parts)
