-- Trades, copied from the app database (the system of record) for analysts: every version of a
-- trade and of each of its orders, and every event. Rows carry the run that copied them; a trade's
-- current state is its highest version.

ALTER TABLE order_tickets ADD COLUMN IF NOT EXISTS trade_id VARCHAR;
COMMENT ON COLUMN order_tickets.trade_id IS 'The trade (one per account x setup x session) the ticket belongs to; its tags start with the trade''s tag.';

CREATE TABLE IF NOT EXISTS trades (
    run_id                    VARCHAR NOT NULL,
    trade_id                  VARCHAR NOT NULL,
    version                   INTEGER NOT NULL,
    account_id                VARCHAR NOT NULL,
    setup_id                  VARCHAR NOT NULL,
    session_date              DATE NOT NULL,
    tag                       VARCHAR NOT NULL,
    state                     VARCHAR NOT NULL,
    option_symbol             VARCHAR NOT NULL,
    expiration_date           DATE NOT NULL,
    planned_quantity          INTEGER NOT NULL,
    limit_price               DECIMAL(18,4) NOT NULL,
    stop_price                DECIMAL(18,4),
    t1_price                  DECIMAL(18,4),
    t1_fraction               DECIMAL(18,4) NOT NULL,
    runner_stop_limit_offset  DECIMAL(18,4),
    risk_per_contract         DECIMAL(18,4) NOT NULL,
    cost_per_contract         DECIMAL(18,4) NOT NULL,
    pdt_qualified             BOOLEAN,
    risk_fingerprint          VARCHAR NOT NULL,
    recommendation_run_id     VARCHAR NOT NULL,
    blocked_reason            VARCHAR,
    close_reason              VARCHAR,
    filled_quantity           INTEGER NOT NULL,
    exited_quantity           INTEGER NOT NULL,
    entry_price               DECIMAL(18,4),
    realized_pnl              DECIMAL(18,4),
    risk_committed            DECIMAL(18,4) NOT NULL,
    entry_sent_at             TIMESTAMPTZ,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    closed_at                 TIMESTAMPTZ,
    PRIMARY KEY (trade_id, version)
);

COMMENT ON TABLE trades IS 'Every version of every trade (one per account x setup x session), copied from the app database; the highest version of a trade_id is its current state.';
COMMENT ON COLUMN trades.run_id IS 'Dagster run that copied this version from the app database.';
COMMENT ON COLUMN trades.trade_id IS 'Trade id: T<session>-<hash of session, account, setup>.';
COMMENT ON COLUMN trades.version IS 'Version of the trade; each change (and its trade_events row) adds one.';
COMMENT ON COLUMN trades.account_id IS 'Broker account number.';
COMMENT ON COLUMN trades.setup_id IS 'Setup the trade was born from.';
COMMENT ON COLUMN trades.session_date IS 'Trading session (New York date) the trade was planned and entered in.';
COMMENT ON COLUMN trades.tag IS 'Base of every order tag of the trade (spx-<session>-<hash>).';
COMMENT ON COLUMN trades.state IS 'planned, entry_working, open, exits_working, t1_filled, runner, closed or abandoned.';
COMMENT ON COLUMN trades.option_symbol IS 'OCC option symbol traded (Tradier spelling).';
COMMENT ON COLUMN trades.expiration_date IS 'Expiration of the contract.';
COMMENT ON COLUMN trades.planned_quantity IS 'Contracts the entry asks for (frozen once the entry is claimed).';
COMMENT ON COLUMN trades.limit_price IS 'Entry limit, dollars per share of premium.';
COMMENT ON COLUMN trades.stop_price IS 'Protective sell-stop trigger; NULL when the setup has no stop (the runner gets a breakeven stop after T1).';
COMMENT ON COLUMN trades.t1_price IS 'T1 target limit.';
COMMENT ON COLUMN trades.t1_fraction IS 'Share of the filled contracts the T1 target takes (at least 1, leaving a runner).';
COMMENT ON COLUMN trades.runner_stop_limit_offset IS 'Stop-limit offset of the stops below their trigger; NULL for plain stops.';
COMMENT ON COLUMN trades.risk_per_contract IS 'Dollars of risk per contract sizing counted: (entry - stop) x 100 + fee and expected slippage, or the whole premium without a stop.';
COMMENT ON COLUMN trades.cost_per_contract IS 'Dollars per contract sizing counted against buying power (premium x 100 + fee and expected slippage).';
COMMENT ON COLUMN trades.pdt_qualified IS 'Whether the account was PDT-qualified when the trade was planned (day-trade guard); NULL for cash accounts.';
COMMENT ON COLUMN trades.risk_fingerprint IS 'Risk-context fingerprint of the recommendation the plan came from.';
COMMENT ON COLUMN trades.recommendation_run_id IS 'Run of contract_recommendations the plan came from.';
COMMENT ON COLUMN trades.blocked_reason IS 'Why a planned trade cannot be placed now (its newest recommendation is blocked...); NULL when placeable.';
COMMENT ON COLUMN trades.close_reason IS 'target, stop, manual (closed outside our orders) or expired; NULL until closed.';
COMMENT ON COLUMN trades.filled_quantity IS 'Contracts the entry bought (the broker''s report).';
COMMENT ON COLUMN trades.exited_quantity IS 'Contracts our exits sold (the broker''s report).';
COMMENT ON COLUMN trades.entry_price IS 'Average entry fill price; NULL until something filled.';
COMMENT ON COLUMN trades.realized_pnl IS 'Dollars made on the contracts our exits closed: (exit - entry) x 100 less $0.65 per contract per fill; NULL before the first exit fill. Contracts closed by hand or settled at expiry are not priced.';
COMMENT ON COLUMN trades.risk_committed IS 'Risk the trade takes from the account''s daily budget: contracts it may hold x risk_per_contract.';
COMMENT ON COLUMN trades.entry_sent_at IS 'When the entry was claimed for sending (UTC).';
COMMENT ON COLUMN trades.created_at IS 'When the trade was planned (UTC).';
COMMENT ON COLUMN trades.updated_at IS 'When this version was written (UTC).';
COMMENT ON COLUMN trades.closed_at IS 'When it reached closed or abandoned (UTC).';

CREATE TABLE IF NOT EXISTS trade_orders (
    run_id           VARCHAR NOT NULL,
    tag              VARCHAR NOT NULL,
    version          INTEGER NOT NULL,
    trade_id         VARCHAR NOT NULL,
    account_id       VARCHAR NOT NULL,
    leg              VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,
    order_class      VARCHAR NOT NULL,
    side             VARCHAR NOT NULL,
    order_type       VARCHAR NOT NULL,
    quantity         INTEGER NOT NULL,
    price            DECIMAL(18,4),
    stop_price       DECIMAL(18,4),
    duration         VARCHAR NOT NULL,
    session_date     DATE NOT NULL,
    local_status     VARCHAR NOT NULL,
    broker_order_id  BIGINT,
    broker_status    VARCHAR,
    open_filled      INTEGER NOT NULL,
    open_avg         DECIMAL(18,4),
    target_filled    INTEGER NOT NULL,
    target_avg       DECIMAL(18,4),
    stop_filled      INTEGER NOT NULL,
    stop_avg         DECIMAL(18,4),
    working_open     INTEGER NOT NULL,
    working_target   INTEGER NOT NULL,
    working_stop     INTEGER NOT NULL,
    broker_reason    VARCHAR,
    message          VARCHAR NOT NULL,
    claimed_by_run   VARCHAR NOT NULL,
    claimed_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tag, version)
);

COMMENT ON TABLE trade_orders IS 'Every version of every order sent for a trade (one unique tag each, claimed in the app database before the POST), copied from the app database.';
COMMENT ON COLUMN trade_orders.run_id IS 'Dagster run that copied this version from the app database.';
COMMENT ON COLUMN trade_orders.tag IS 'The order''s tag: <trade tag>-entry, -t1, -stop (then -t1-2, -stop-2...); unique.';
COMMENT ON COLUMN trade_orders.version IS 'Version of the order row; each change adds one.';
COMMENT ON COLUMN trade_orders.trade_id IS 'Trade the order belongs to.';
COMMENT ON COLUMN trade_orders.account_id IS 'Broker account number.';
COMMENT ON COLUMN trade_orders.leg IS 'entry, t1 or runner_stop.';
COMMENT ON COLUMN trade_orders.seq IS 'Sequence of the order within its leg (1 for the first; later ones cover new fills or replace expired exits).';
COMMENT ON COLUMN trade_orders.order_class IS 'option, oco (T1 target + stop) or oto (a 1-lot entry carrying its stop).';
COMMENT ON COLUMN trade_orders.side IS 'Side of the first order of the class: buy_to_open or sell_to_close.';
COMMENT ON COLUMN trade_orders.order_type IS 'Type of the first order of the class: limit, stop or stop_limit.';
COMMENT ON COLUMN trade_orders.quantity IS 'Contracts ordered.';
COMMENT ON COLUMN trade_orders.price IS 'Limit price (entry limit or T1 target), dollars per share of premium.';
COMMENT ON COLUMN trade_orders.stop_price IS 'Stop trigger, if the order carries a stop.';
COMMENT ON COLUMN trade_orders.duration IS 'day (exits are placed again each session while a position is held).';
COMMENT ON COLUMN trade_orders.session_date IS 'Session the order was claimed in.';
COMMENT ON COLUMN trade_orders.local_status IS 'Our side: claimed, sending, sent, ambiguous, rejected or void (never reached the broker).';
COMMENT ON COLUMN trade_orders.broker_order_id IS 'Tradier order id, once known.';
COMMENT ON COLUMN trade_orders.broker_status IS 'The broker''s status at the last read: open, partially_filled, filled, canceled, expired, rejected, pending.';
COMMENT ON COLUMN trade_orders.open_filled IS 'Contracts its buy_to_open legs filled.';
COMMENT ON COLUMN trade_orders.open_avg IS 'Average fill price of its buy_to_open legs.';
COMMENT ON COLUMN trade_orders.target_filled IS 'Contracts its sell limit (target) legs filled.';
COMMENT ON COLUMN trade_orders.target_avg IS 'Average fill price of its target legs.';
COMMENT ON COLUMN trade_orders.stop_filled IS 'Contracts its stop legs filled.';
COMMENT ON COLUMN trade_orders.stop_avg IS 'Average fill price of its stop legs.';
COMMENT ON COLUMN trade_orders.working_open IS 'Contracts of its buy legs still working.';
COMMENT ON COLUMN trade_orders.working_target IS 'Contracts of its target legs still working.';
COMMENT ON COLUMN trade_orders.working_stop IS 'Contracts of its stop legs still working (the cover a position has).';
COMMENT ON COLUMN trade_orders.broker_reason IS 'The broker''s reason_description (a rejection''s text).';
COMMENT ON COLUMN trade_orders.message IS 'What the placement learnt: accepted, found by tag, the rejection, why a claim was voided (never a token).';
COMMENT ON COLUMN trade_orders.claimed_by_run IS 'Run that claimed the tag (a placement run, or the reconciliation that sent a protective exit).';
COMMENT ON COLUMN trade_orders.claimed_at IS 'When the tag was claimed (UTC).';
COMMENT ON COLUMN trade_orders.updated_at IS 'When this version was written (UTC).';

CREATE TABLE IF NOT EXISTS trade_events (
    run_id           VARCHAR NOT NULL,
    trade_id         VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    from_state       VARCHAR,
    to_state         VARCHAR NOT NULL,
    reason           VARCHAR NOT NULL,
    filled_quantity  INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    realized_pnl     DECIMAL(18,4),
    recorded_by_run  VARCHAR NOT NULL,
    PRIMARY KEY (trade_id, seq)
);

COMMENT ON TABLE trade_events IS 'Each change of a trade with its reason and time, copied from the app database (seq = the trade''s version after the change).';
COMMENT ON COLUMN trade_events.run_id IS 'Dagster run that copied the event from the app database.';
COMMENT ON COLUMN trade_events.trade_id IS 'Trade the event belongs to.';
COMMENT ON COLUMN trade_events.seq IS 'Number of the event within its trade (equal to the trade''s version after it).';
COMMENT ON COLUMN trade_events.occurred_at IS 'When the change was recorded (UTC).';
COMMENT ON COLUMN trade_events.from_state IS 'State before (NULL when the trade was born).';
COMMENT ON COLUMN trade_events.to_state IS 'State after.';
COMMENT ON COLUMN trade_events.reason IS 'Why: the recommendation run, the claim, the broker''s report that moved it.';
COMMENT ON COLUMN trade_events.filled_quantity IS 'Contracts filled by the entry at that moment.';
COMMENT ON COLUMN trade_events.position IS 'Contracts held at that moment (filled less exited).';
COMMENT ON COLUMN trade_events.realized_pnl IS 'Realized P&L at that moment, dollars (see trades.realized_pnl).';
COMMENT ON COLUMN trade_events.recorded_by_run IS 'Run (or CLI placement) that made the change.';
