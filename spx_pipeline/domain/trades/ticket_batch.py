"""Many plans' tickets at once: the checked forms built once per shape, then named for each trade.

A plan's orders depend on its contract, size, prices and exits, never on whose trade it is: only
the trade id, the account and the tags differ between two accounts that trade the same contract
at the same size. So plans of one shape build their forms once through ``planned_tickets`` (every
wire rule applied), and each trade gets a copy carrying its own ids and tags, its JSON payload
spliced around the tag. The result is exactly what ``planned_tickets`` and ``payload_json`` give
plan by plan; ``spx_pipeline_tests/domain/trades/test_ticket_batch.py`` compares the two.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from spx_pipeline.domain.orders import OrderPayloadError
from spx_pipeline.domain.trades.birth import Tickets, planned_tickets
from spx_pipeline.domain.trades.intents import OrderIntent
from spx_pipeline.domain.trades.records import TradePlan
from spx_pipeline.domain.tradier.order_rules import TAG_PATTERN

# Stands in for a trade's tag while its shape is built; letters and '-' only, so it is a valid tag
# and its JSON spelling is itself in quotes, found nowhere else in a form.
_TEMPLATE_TAG = "SHAPE-TEMPLATE-TAG"
_TEMPLATE_ID = "SHAPE-TEMPLATE-TRADE"
_SUFFIXES = ("-entry", "-t1", "-stop")  # the first order of each leg (``ids.order_tag``)


@dataclass(frozen=True, slots=True)
class TicketLeg:
    """One leg of a plan's tickets with its payload as ``OrderIntent.payload_json`` writes it."""

    leg: str
    intent: OrderIntent
    payload_json: str


# What names the trade: ``planned_tickets`` copies these, never reads them. Every other field
# (a new one too) is part of the shape.
_NAMING = frozenset(
    {"trade_id", "account_id", "setup_id", "tag", "risk_fingerprint", "recommendation_run_id",
     "pdt_qualified", "risk_per_contract", "cost_per_contract"}
)  # fmt: skip
_SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(TradePlan) if f.name not in _NAMING)
_shape_key = operator.attrgetter(*_SHAPE_FIELDS)


def _shape(plan: TradePlan) -> TradePlan:
    """The plan without what names the trade."""
    return dataclasses.replace(
        plan,
        trade_id=_TEMPLATE_ID,
        account_id="",
        setup_id="",
        tag=_TEMPLATE_TAG,
        risk_fingerprint="",
        recommendation_run_id="",
        pdt_qualified=None,
        risk_per_contract=Decimal(0),
        cost_per_contract=Decimal(0),
    )


@dataclass(frozen=True, slots=True)
class ShapeLeg:
    """One leg of a shape's tickets: its form built for the template trade, and that form's JSON
    split around the template's tag, so a trade's payload is two joins away."""

    leg: str
    intent: OrderIntent
    before: str  # the payload's JSON up to the tag (its opening quote excluded)
    after: str  # from after the tag's closing quote
    suffix: str  # the leg's order tag after the trade's tag base (``-entry``, ``-t1``, ``-stop``)


@dataclass(frozen=True, slots=True)
class ShapedLegs:
    """A plan's legs as its shape built them, named for the plan only when asked: the ticket rows
    need its tags and payloads, not one ``OrderIntent`` per leg."""

    plan: TradePlan
    legs: tuple[ShapeLeg, ...]

    def tag(self, leg: ShapeLeg) -> str:
        return self.plan.tag + leg.suffix

    def payload_json(self, leg: ShapeLeg, tag: str) -> str:
        return f'{leg.before}"{tag}"{leg.after}'

    def ticket_legs(self) -> list[TicketLeg]:
        plan, out = self.plan, []
        for shape_leg in self.legs:
            intent, tag = shape_leg.intent, self.tag(shape_leg)
            named = intent.named(plan.trade_id, plan.account_id, tag)
            out.append(TicketLeg(shape_leg.leg, named, self.payload_json(shape_leg, tag)))
        return out


_TEMPLATES: dict[tuple[object, ...], tuple[ShapeLeg, ...] | OrderPayloadError] = {}


def _template(plan: TradePlan) -> tuple[ShapeLeg, ...] | OrderPayloadError:
    """The plan's shape built once (remembered; a few thousand shapes at most are kept)."""
    key = _shape_key(plan)
    found = _TEMPLATES.get(key)
    if found is None:
        if len(_TEMPLATES) >= 4096:
            _TEMPLATES.clear()
        found = _TEMPLATES[key] = _build(_shape(plan))
    return found


def _build(shape: TradePlan) -> tuple[ShapeLeg, ...] | OrderPayloadError:
    try:
        tickets = planned_tickets(shape)
    except OrderPayloadError as exc:
        return exc
    legs = []
    for leg, intent in tickets.legs().items():
        before, marker, after = intent.payload_json().partition(f'"{intent.tag}"')
        if not marker or f'"{intent.tag}"' in after or not intent.tag.startswith(_TEMPLATE_TAG):
            raise AssertionError(f"the template tag of leg {leg} is not in its payload exactly once")
        legs.append(ShapeLeg(leg, intent, before, after, intent.tag[len(_TEMPLATE_TAG) :]))
    return tuple(legs)


def _scalar(plan: TradePlan) -> list[TicketLeg] | OrderPayloadError:
    try:
        legs = planned_tickets(plan).legs()
    except OrderPayloadError as exc:
        return exc
    return [TicketLeg(leg, intent, intent.payload_json()) for leg, intent in legs.items()]


def shaped_legs_of_plans(
    plans: Sequence[TradePlan],
) -> list[ShapedLegs | list[TicketLeg] | OrderPayloadError]:
    """Each plan's legs by its shape, or (a tag of the plan breaking the wire rule, which the shape
    cannot know) built plan by plan: the legs, or the error building them raised."""
    out: list[ShapedLegs | list[TicketLeg] | OrderPayloadError] = []
    for plan in plans:
        template = _template(plan)
        if isinstance(template, OrderPayloadError):
            # The same error, unless a tag of this plan would have been refused first.
            tags_ok = all(TAG_PATTERN.match(plan.tag + suffix) for suffix in _SUFFIXES)
            out.append(template if tags_ok else _scalar(plan))
        elif all(TAG_PATTERN.match(plan.tag + leg.suffix) for leg in template):
            out.append(ShapedLegs(plan, template))
        else:
            out.append(_scalar(plan))
    return out


def tickets_of_plans(plans: Sequence[TradePlan]) -> list[list[TicketLeg] | OrderPayloadError]:
    """Each plan's legs (``planned_tickets(plan).legs()`` in order), or the error building them raised."""
    return [
        legs.ticket_legs() if isinstance(legs, ShapedLegs) else legs for legs in shaped_legs_of_plans(plans)
    ]


def planned_tickets_many(plans: Sequence[TradePlan]) -> list[Tickets | OrderPayloadError]:
    """``planned_tickets`` of each plan (or the error it raised), forms built once per shape."""
    out: list[Tickets | OrderPayloadError] = []
    for legs in tickets_of_plans(plans):
        if isinstance(legs, OrderPayloadError):
            out.append(legs)
            continue
        by_leg = {leg.leg: leg.intent for leg in legs}
        out.append(Tickets(by_leg["entry"], by_leg.get("t1"), by_leg.get("runner_stop")))
    return out
