"""Pipeline logic between the broker, the domain core and the stores, free of Dagster.

Dagster assets and ops in ``spx_pipeline.defs`` are thin wrappers around these functions, so the
same transformations are unit-testable and reusable from scripts and benchmarks.
"""
