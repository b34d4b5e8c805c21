"""spx-pipeline: broker account data and safe SPX option order tickets as Dagster batch jobs."""

__version__ = "0.1.0"
