import pytest

from spx_pipeline.domain.execution import PlacementRefused, check_environment


@pytest.mark.parametrize(
    ("allow", "live_credential", "needle"),
    [(False, True, "TRADIER_ALLOW_LIVE=true"), (True, False, "a live credential"), (False, False, " and ")],
)
def test_live_host_needs_the_flag_and_a_live_credential(allow, live_credential, needle):
    with pytest.raises(PlacementRefused, match=needle):
        check_environment(live_host=True, allow_live=allow, live_credential=live_credential)
    check_environment(live_host=True, allow_live=True, live_credential=True)
    check_environment(live_host=False, allow_live=False, live_credential=False)
