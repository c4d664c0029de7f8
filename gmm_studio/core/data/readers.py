"""Reading data files into pandas: CSV/TSV with sniffing, Excel, Parquet.

pandas is imported where a table is built (it takes 0.25 s), so the sniffing
helpers serve ``numeric_text`` without it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidDataError

if TYPE_CHECKING:
    import pandas as pd

TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".dat", ""}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_SNIFF_BYTES = 64 * 1024


class DataFileError(InvalidDataError):
    """A data file is missing, unreadable or not a table."""


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file by its extension; errors say what to do."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataFileError(f"file not found: {path}")
    if path.is_dir():
        raise DataFileError(f"{path} is a folder; choose a data file.")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        frame = _read_optional(path, "openpyxl", "excel", lambda: pd.read_excel(path))
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_optional(path, "pyarrow", "parquet", lambda: pd.read_parquet(path))
    else:
        frame = read_text_table(path.read_bytes(), str(path))
    if frame.shape[1] == 0:
        raise DataFileError(f"{path} has no columns.")
    if len(frame) == 0:
        raise DataFileError(f"{path} has a header but no data rows.")
    return frame


def _read_optional(path: Path, module: str, extra: str, reader) -> pd.DataFrame:
    try:
        __import__(module)
    except ImportError:
        raise DataFileError(
            f"reading {path.suffix} files needs {module}: pip install 'gmm-studio[{extra}]'"
        ) from None
    try:
        return reader()
    except Exception as exc:  # the readers raise many types for a corrupt file
        raise DataFileError(f"cannot read {path.name} as {extra}: {exc}") from None


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else Latin-1; reject binary files."""
    if not raw.strip():
        raise DataFileError(f"{name} is empty.")
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise DataFileError(
            f"{name} looks binary, not a text table; save it as CSV, or open an "
            ".xlsx / .parquet file by its own extension."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def sniff_format(sample: str) -> tuple[str, str]:
    """(delimiter, decimal) of a text table from its first lines."""
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sum(ln.count(d) for ln in lines) for d in ",;\t|"}
        delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
    decimal = "."
    if delimiter != ",":
        body = lines[1:]
        comma_numbers = sum(_looks_decimal_comma(cell) for ln in body
                            for cell in ln.split(delimiter))
        dot_numbers = sum(_looks_decimal_dot(cell) for ln in body for cell in ln.split(delimiter))
        if comma_numbers > dot_numbers:
            decimal = ","
    return delimiter, decimal


def _looks_decimal_comma(cell: str) -> bool:
    head, sep, tail = cell.strip().strip('"').partition(",")
    return bool(sep) and head.lstrip("+-").isdigit() and tail.isdigit()


def _looks_decimal_dot(cell: str) -> bool:
    head, sep, tail = cell.strip().strip('"').partition(".")
    return bool(sep) and head.lstrip("+-").isdigit() and tail.isdigit()


def read_text_table(raw: bytes, name: str = "data") -> pd.DataFrame:
    """Parse delimited text (bytes) into a DataFrame, sniffing the format."""
    import pandas as pd

    text = decode_text(raw, name)
    delimiter, decimal = sniff_format(text[:_SNIFF_BYTES])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, decimal=decimal,
                            skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFileError(f"cannot parse {name} as a delimited table: {exc}") from None
    check_not_ragged(frame, text[:_SNIFF_BYTES], delimiter, name)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def check_not_ragged(frame: pd.DataFrame, head: str, delimiter: str, name: str) -> None:
    """Refuse a table whose rows have more fields than its header has names.

    pandas reads such a file without complaint by turning the leading extra
    fields into the index, so every column after them is shifted silently.
    A default RangeIndex means no field was used that way.
    """
    import pandas as pd

    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0:
        return
    rows = csv.reader(io.StringIO(head), delimiter=delimiter)
    header = next(rows, [])
    for line, fields in enumerate(rows, start=2):
        if fields and len(fields) != len(header):
            raise DataFileError(
                f"{Path(name).name} line {line} has {len(fields)} fields but its header names "
                f"{len(header)}; add the missing column names to the first line (or check the "
                "delimiter).")
    raise DataFileError(
        f"{Path(name).name} has more fields in its rows than names in its header; add the "
        "missing column names to the first line (or check the delimiter).")
