"""Shared fixtures live in ``spx_pipeline_tests/fixtures/`` modules, one per area, loaded here."""

pytest_plugins = [
    "pytester",
    "spx_pipeline_tests.fixtures.clock",
    "spx_pipeline_tests.fixtures.dagster_instances",
    "spx_pipeline_tests.fixtures.tradier",
    "spx_pipeline_tests.fixtures.stores",
    "spx_pipeline_tests.fixtures.pipeline",
    "spx_pipeline_tests.fixtures.trading",
    "spx_pipeline_tests.fixtures.runs",
    "spx_pipeline_tests.fixtures.processes",
    "spx_pipeline_tests.fixtures.netns",
    "spx_pipeline_tests.fixtures.multihost",
    "spx_pipeline_tests.fixtures.charts",
]

# Hypothesis asserts behaviour here, never speed: its per-example deadline (200 ms by default) is a
# timing assertion that a loaded machine fails by chance. Examples still stop at the suite's timeouts.
from hypothesis import settings  # noqa: E402

settings.register_profile("spx", deadline=None)
settings.load_profile("spx")
