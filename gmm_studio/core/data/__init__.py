"""From a file to the matrix the engine fits.

``readers`` (CSV/TSV sniffing, Excel, Parquet), ``chunked`` (reading big
files in chunks), ``dataset`` (columns, missing rows, identity),
``preprocessing`` (z-scores), ``row_cache`` (out-of-core binary cache) and
``samples`` (generated data sets).
"""
