"""Reading a big table in chunks with progress and cancel (for the window)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..errors import GMMStudioError, InvalidDataError
from .dataset import file_sha256
from .readers import (
    PARQUET_SUFFIXES,
    DataFileError,
    check_not_ragged,
    decode_text,
    read_table,
    sniff_format,
)

CHUNK_ROWS = 200_000


class LoadCancelledError(GMMStudioError):
    """The user stopped loading; the previous data stays."""


def read_table_chunked(path: str | Path, cancel: threading.Event | None = None,
                       progress: Callable[[float], None] | None = None,
                       chunk_rows: int = CHUNK_ROWS) -> tuple[pd.DataFrame, str]:
    """(table, SHA-256) of a CSV/TSV/Parquet file read in chunks.

    ``progress`` receives the fraction of the file read so far (0..1);
    setting ``cancel`` raises LoadCancelledError between chunks.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_table(path), file_sha256(path)
    expected = _estimated_rows(path)
    parts, rows = [], 0
    for chunk in iter_chunks(path, chunk_rows):
        if cancel is not None and cancel.is_set():
            raise LoadCancelledError(
                f"loading {path.name} was cancelled; the previous data is kept.")
        parts.append(chunk)
        rows += len(chunk)
        if progress is not None:
            progress(min(0.99, rows / expected))
    if not parts:
        raise DataFileError(f"{path.name} has a header but no data rows.")
    if cancel is not None and cancel.is_set():
        raise LoadCancelledError(f"loading {path.name} was cancelled; the previous data is kept.")
    frame = pd.concat(parts, ignore_index=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, file_sha256(path)


def _estimated_rows(path: Path) -> float:
    """Rows in the file: exact for Parquet, from the first 64 KiB's line length for text."""
    if not path.exists():
        raise DataFileError(f"file not found: {path}")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
            return max(pq.ParquetFile(path).metadata.num_rows, 1)
        except ImportError:
            return 1.0
    with open(path, "rb") as fh:
        sample = fh.read(64 * 1024)
    lines = max(sample.count(b"\n"), 1)
    return max(path.stat().st_size / (len(sample) / lines), 1.0)


_SAMPLE_BYTES = 64 * 1024

def iter_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS):
    """DataFrames of at most ``chunk_rows`` rows from a CSV/TSV or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise InvalidDataError(f"file not found: {path}")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidDataError("reading .parquet files needs pyarrow: "
                                   "pip install 'gmm-studio[parquet]'") from None
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    text = decode_text(head, path.name)
    delimiter, decimal = sniff_format(text)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding = "latin-1"
    reader = pd.read_csv(path, sep=delimiter, decimal=decimal, encoding=encoding,
                         skipinitialspace=True, chunksize=chunk_rows,
                         encoding_errors="replace")
    first = True
    try:
        for chunk in reader:
            if first:
                check_not_ragged(chunk, text, delimiter, path.name)
                first = False
            yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidDataError(f"cannot parse {path.name} as a delimited table: {exc}") from None
