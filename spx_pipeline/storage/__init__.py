"""Stores: the app database (system of record), encrypted credentials, setups, the DuckDB warehouse."""
