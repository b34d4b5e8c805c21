"""The analysts' warehouse: a DuckDB file or the Parquet backend.

Writes, publication, reads and the analyst copy. It may read the app database (mirrors and repairs
copy from it); the app database never imports it.
"""
