"""The app database: the system of record.

Credentials, setups, limits, placements, trades and the portfolio history the app reads. Nothing
here imports the warehouse: the warehouse copies from the app database, never the reverse.
"""
