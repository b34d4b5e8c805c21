from decimal import Decimal

import pytest

from spx_pipeline.domain.execution import (
    Action,
    PlacementLimits,
    PlacementRefused,
    check_environment,
    check_placement,
    plan_placements,
)
from spx_pipeline.domain.tradier.enums import Side


@pytest.fixture
def legs(make_ticket):
    return [
        make_ticket("entry"),
        make_ticket("t1", quantity=2, price=Decimal("3.50"), stop_price=Decimal("1.50"), order_class="oco"),
        make_ticket("runner_stop", quantity=2),
    ]


def actions(decisions):
    return {d.ticket.leg: d.action for d in decisions}


def test_only_the_entry_goes_before_it_fills(legs):
    assert actions(plan_placements(legs, {})) == {
        "entry": Action.PLACE,
        "t1": Action.WAIT_FOR_ENTRY_FILL,
        "runner_stop": Action.WAIT_FOR_ENTRY_FILL,
    }


def test_a_tag_at_the_broker_is_never_placed_again_whatever_its_status(legs, make_broker_leg):
    for status in ("open", "rejected", "canceled", "pending"):
        at_broker = {"rec-VA1-entry": [make_broker_leg(status=status, exec_quantity=0)]}
        (entry, *_) = plan_placements(legs, at_broker)
        assert entry.action == Action.ALREADY_AT_BROKER and entry.broker_order_id == 100


def test_exits_go_once_the_entry_filled_completely(legs, make_broker_leg):
    partial = {"rec-VA1-entry": [make_broker_leg(status="partially_filled", exec_quantity=1)]}
    decisions = plan_placements(legs, partial)
    assert actions(decisions)["t1"] == Action.WAIT_FOR_ENTRY_FILL
    assert "filled 1 of 4" in decisions[1].reason
    filled = {"rec-VA1-entry": [make_broker_leg()]}
    assert actions(plan_placements(legs, filled)) == {
        "entry": Action.ALREADY_AT_BROKER,
        "t1": Action.PLACE,
        "runner_stop": Action.PLACE,  # the OCO T1 carries its own stop
    }


def test_a_breakeven_runner_stop_waits_for_the_t1_scale_fill(make_ticket, make_broker_leg):
    legs = [make_ticket("entry"), make_ticket("t1", quantity=2), make_ticket("runner_stop", quantity=2)]
    filled_entry = {"rec-VA1-entry": [make_broker_leg()]}
    assert actions(plan_placements(legs, filled_entry))["runner_stop"] == Action.WAIT_FOR_T1_FILL
    t1_filled = filled_entry | {
        "rec-VA1-t1": [make_broker_leg(order_id=101, side=Side.SELL_TO_CLOSE, quantity=2, exec_quantity=2)]
    }
    assert actions(plan_placements(legs, t1_filled))["runner_stop"] == Action.PLACE


def test_refused_without_the_confirmation_that_names_the_count(legs):
    decisions = plan_placements(legs, {})
    for confirm in (None, "", "yes", "PLACE 2"):
        with pytest.raises(PlacementRefused, match=r"confirm must be 'PLACE 1'.*\$1,000.00"):
            check_placement(decisions, confirm, PlacementLimits())
    assert [d.ticket.leg for d in check_placement(decisions, "PLACE 1", PlacementLimits())] == ["entry"]


def test_refused_above_the_caps(make_ticket):
    tickets = [make_ticket("entry", account_id=f"VA{i}") for i in range(3)]
    decisions = plan_placements(tickets, {})
    with pytest.raises(PlacementRefused, match="3 orders exceed max_orders=2"):
        check_placement(decisions, "PLACE 3", PlacementLimits(max_orders=2))
    with pytest.raises(PlacementRefused, match=r"\$3,000.00 exceeds max_opening_notional=\$2,999.00"):
        check_placement(decisions, "PLACE 3", PlacementLimits(max_opening_notional=Decimal(2999)))
    assert (
        len(check_placement(decisions, "PLACE 3", PlacementLimits(max_opening_notional=Decimal(3000)))) == 3
    )


def test_exits_never_count_against_the_notional_cap(legs, make_broker_leg):
    decisions = plan_placements(legs, {"rec-VA1-entry": [make_broker_leg()]})
    placed = check_placement(decisions, "PLACE 2", PlacementLimits(max_opening_notional=Decimal("0.01")))
    assert [d.ticket.leg for d in placed] == ["t1", "runner_stop"]


@pytest.mark.parametrize(
    ("allow", "live_credential", "needle"),
    [(False, True, "TRADIER_ALLOW_LIVE=true"), (True, False, "a live credential"), (False, False, " and ")],
)
def test_live_host_needs_the_flag_and_a_live_credential(allow, live_credential, needle):
    with pytest.raises(PlacementRefused, match=needle):
        check_environment(live_host=True, allow_live=allow, live_credential=live_credential)
    check_environment(live_host=True, allow_live=True, live_credential=True)
    check_environment(live_host=False, allow_live=False, live_credential=False)


def test_a_run_with_nothing_to_send_needs_no_confirmation(legs, make_broker_leg):
    at_broker = {"rec-VA1-entry": [make_broker_leg(status="open", exec_quantity=0)]}
    assert check_placement(plan_placements(legs, at_broker), None, PlacementLimits()) == []
