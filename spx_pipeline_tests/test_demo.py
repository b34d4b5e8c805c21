"""The demo's own data says what it is: a setup's label never promises a stop it does not have."""

from __future__ import annotations

import re

import pytest

from spx_pipeline.demo import DEMO_SETUPS


@pytest.mark.parametrize("spec", DEMO_SETUPS, ids=lambda spec: str(spec["setup_id"]))
def test_a_demo_setup_label_names_a_stop_only_when_it_has_one(spec: dict[str, object]) -> None:
    label = str(spec["label"]).lower()
    claims_stop = bool(re.search(r"\bstop (at|of)\b|\d+% of entry", label))
    assert claims_stop == (spec["stop_premium"] is not None), spec
    if spec["stop_premium"] is None:
        assert "no stop" in label, label  # said plainly: the premium paid is the risk
