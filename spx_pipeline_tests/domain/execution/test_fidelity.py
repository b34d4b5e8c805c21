from datetime import UTC, date, datetime
from decimal import Decimal

from spx_pipeline.domain.execution import FidelityRow, MatchKind, match_fidelity
from spx_pipeline.domain.tradier.enums import OrderType, Side


def test_tagged_fill_gives_signed_slippage_and_time_to_fill(make_ticket, make_broker_leg):
    rows = match_fidelity([make_ticket("entry")], [make_broker_leg()])
    (row,) = rows
    assert row.match == MatchKind.TAG
    assert (row.intended_price, row.fill_price) == (Decimal("2.50"), Decimal("2.55"))
    assert row.slippage_per_contract == Decimal("5") and row.slippage_ticks == Decimal("1")
    assert row.seconds_to_fill == 12.0
    assert (row.filled_quantity, row.remaining_quantity) == (4, 0)


def test_partial_fill_keeps_remaining_and_prices_what_filled(make_ticket, make_broker_leg):
    order = make_broker_leg(status="partially_filled", exec_quantity=1, remaining_quantity=3)
    (row,) = match_fidelity([make_ticket("entry")], [order])
    assert (row.status, row.filled_quantity, row.remaining_quantity) == ("partially_filled", 1, 3)
    assert row.slippage_ticks == Decimal("1")


def test_unfilled_order_has_no_fill_price_or_slippage(make_ticket, make_broker_leg):
    order = make_broker_leg(status="open", exec_quantity=0, remaining_quantity=4, avg_fill_price=Decimal(0))
    (row,) = match_fidelity([make_ticket("entry")], [order])
    assert row.fill_price is None and row.slippage_ticks is None and row.seconds_to_fill is None


def test_oco_legs_each_get_a_row_priced_against_limit_or_stop(make_ticket, make_broker_leg):
    t1 = make_ticket("t1", quantity=2, price=Decimal("3.50"), stop_price=Decimal("1.50"), order_class="oco")
    limit_leg = make_broker_leg(
        order_id=200,
        leg_index=0,
        tag=t1.tag,
        side=Side.SELL_TO_CLOSE,
        quantity=2,
        exec_quantity=2,
        avg_fill_price=Decimal("3.40"),
    )
    stop_leg = make_broker_leg(
        order_id=200,
        leg_index=1,
        tag=t1.tag,
        side=Side.SELL_TO_CLOSE,
        order_type=OrderType.STOP,
        status="canceled",
        quantity=2,
        exec_quantity=0,
        remaining_quantity=0,
        avg_fill_price=None,
    )
    rows = match_fidelity([t1], [stop_leg, limit_leg])
    assert [(r.broker_leg, r.intended_price, r.status) for r in rows] == [
        (0, Decimal("3.50"), "filled"),
        (1, Decimal("1.50"), "canceled"),
    ]
    assert rows[0].slippage_ticks == Decimal("1")  # a sell $0.10 below its $3.50 limit: one adverse tick


def test_hand_placed_order_is_an_inferred_match_only_when_unclaimed(make_ticket, make_broker_leg):
    entry = make_ticket("entry")
    by_hand = make_broker_leg(order_id=150, tag=None)
    (row,) = match_fidelity([entry], [by_hand])
    assert row.match == MatchKind.INFERRED and row.order_id == 150
    tagged = make_broker_leg(order_id=100)
    rows = match_fidelity([entry], [tagged, by_hand])
    assert [(r.order_id, r.match) for r in rows] == [(100, MatchKind.TAG)]


def test_inferred_match_needs_same_account_symbol_side_and_session(make_ticket, make_broker_leg):
    entry = make_ticket("entry")
    others = [
        make_broker_leg(tag=None, account_id="VA2"),
        make_broker_leg(tag=None, option_symbol="SPXW261124P05900000"),
        make_broker_leg(tag=None, side=Side.SELL_TO_OPEN),
        make_broker_leg(tag=None, session=date(2026, 11, 23)),
    ]
    assert match_fidelity([entry], others) == []


def test_our_tag_in_another_account_is_neither_matched_nor_guessed(make_ticket, make_broker_leg):
    assert match_fidelity([make_ticket("entry")], [make_broker_leg(account_id="VA2")]) == []


def test_rerun_over_the_same_state_gives_the_same_rows(make_ticket, make_broker_leg):
    tickets = [make_ticket("entry"), make_ticket("entry", account_id="VA2")]
    orders = [make_broker_leg(tag=None, account_id="VA2", order_id=7), make_broker_leg()]
    assert match_fidelity(tickets, orders) == match_fidelity(list(reversed(tickets)), list(reversed(orders)))


def test_a_row_names_the_ticket_and_reports_the_broker_leg(make_ticket, make_broker_leg):
    """Every field of one row, each from its own source: the ticket names it, the broker's leg says
    what happened (its symbol and side too, should a tagged order differ from its ticket)."""
    ticket = make_ticket("t1", ticket_id="T-9", setup_id="fade", price=Decimal("3.50"), tag="rec-VA1-t1")
    filled_at = datetime(2026, 11, 24, 15, 31, tzinfo=UTC)
    order = make_broker_leg(
        order_id=300, leg_index=1, tag="rec-VA1-t1", option_symbol="SPXW261124C06005000",
        side=Side.SELL_TO_OPEN, status="partially_filled", exec_quantity=3, remaining_quantity=1,
        avg_fill_price=Decimal("3.40"), transaction_at=filled_at, session=date(2026, 11, 25),
    )  # fmt: skip
    assert match_fidelity([ticket], [order]) == [
        FidelityRow(
            ticket_id="T-9", account_id="VA1", setup_id="fade", leg="t1", option_symbol="SPXW261124C06005000",
            side=Side.SELL_TO_OPEN, order_id=300, broker_leg=1, match=MatchKind.TAG,
            status="partially_filled", intended_price=Decimal("3.50"), fill_price=Decimal("3.40"),
            filled_quantity=3, remaining_quantity=1, slippage_per_contract=Decimal("10"),
            slippage_ticks=Decimal("1"), seconds_to_fill=60.0, session_date=date(2026, 11, 24),
            tag="rec-VA1-t1", filled_at=filled_at,
        )
    ]  # fmt: skip
