-- Execution: what the broker holds and did, what we sent, how well it filled, and what it teaches
-- sizing. Every row carries the run that wrote it; readers see published runs only.

CREATE TABLE IF NOT EXISTS tradier_positions (
    run_id          VARCHAR NOT NULL,
    account_id      VARCHAR NOT NULL,
    captured_at     TIMESTAMPTZ NOT NULL,
    position_id     BIGINT,
    symbol          VARCHAR NOT NULL,
    root            VARCHAR,
    expiration      DATE,
    option_right    VARCHAR,
    strike          DECIMAL(12,3),
    quantity        DECIMAL(18,4) NOT NULL,
    cost_basis      DECIMAL(18,4),
    date_acquired   TIMESTAMPTZ,
    PRIMARY KEY (run_id, account_id, symbol)
);

COMMENT ON TABLE tradier_positions IS 'Positions the broker reported per account and run; an account whose fetch failed has a sync_failures row instead, never an empty list.';
COMMENT ON COLUMN tradier_positions.run_id IS 'Dagster run that read the positions.';
COMMENT ON COLUMN tradier_positions.account_id IS 'Broker account number.';
COMMENT ON COLUMN tradier_positions.captured_at IS 'When the run read the positions (UTC).';
COMMENT ON COLUMN tradier_positions.position_id IS 'Tradier''s id of the position, when it sends one.';
COMMENT ON COLUMN tradier_positions.symbol IS 'Symbol as the broker reports it (OCC option symbol or an equity ticker).';
COMMENT ON COLUMN tradier_positions.root IS 'OCC root of an option position (SPX, SPXW...); NULL for equities.';
COMMENT ON COLUMN tradier_positions.expiration IS 'Option expiration date from the OCC symbol; NULL for equities.';
COMMENT ON COLUMN tradier_positions.option_right IS 'C (call) or P (put); NULL for equities.';
COMMENT ON COLUMN tradier_positions.strike IS 'Option strike from the OCC symbol, exact; NULL for equities.';
COMMENT ON COLUMN tradier_positions.quantity IS 'Contracts (or shares) held; negative when short.';
COMMENT ON COLUMN tradier_positions.cost_basis IS 'Total cost basis in dollars as the broker reports it.';
COMMENT ON COLUMN tradier_positions.date_acquired IS 'When the broker says the position was opened (UTC).';

CREATE TABLE IF NOT EXISTS tradier_orders (
    run_id              VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    captured_at         TIMESTAMPTZ NOT NULL,
    session_date        DATE NOT NULL,
    order_id            BIGINT NOT NULL,
    leg_index           INTEGER NOT NULL,
    leg_order_id        BIGINT,
    order_class         VARCHAR,
    tag                 VARCHAR,
    option_symbol       VARCHAR,
    side                VARCHAR,
    order_type          VARCHAR,
    status              VARCHAR,
    quantity            INTEGER,
    price               DECIMAL(10,2),
    stop_price          DECIMAL(10,2),
    avg_fill_price      DECIMAL(18,4),
    exec_quantity       INTEGER NOT NULL,
    remaining_quantity  INTEGER NOT NULL,
    last_fill_price     DECIMAL(18,4),
    create_date         TIMESTAMPTZ,
    transaction_date    TIMESTAMPTZ,
    reason_description  VARCHAR,
    PRIMARY KEY (run_id, account_id, order_id, leg_index)
);

COMMENT ON TABLE tradier_orders IS 'The session''s orders per account with their tags, one row per leg (an OCO or multileg order is flattened).';
COMMENT ON COLUMN tradier_orders.run_id IS 'Dagster run that read the orders.';
COMMENT ON COLUMN tradier_orders.account_id IS 'Broker account number.';
COMMENT ON COLUMN tradier_orders.captured_at IS 'When the run read the orders (UTC).';
COMMENT ON COLUMN tradier_orders.session_date IS 'Trading session (New York date) the run read orders for.';
COMMENT ON COLUMN tradier_orders.order_id IS 'Tradier order id (the parent''s id for an OCO or multileg order).';
COMMENT ON COLUMN tradier_orders.leg_index IS 'Position of the leg within its order (0 for a single-leg order).';
COMMENT ON COLUMN tradier_orders.leg_order_id IS 'Tradier''s id of the leg itself (equal to order_id for a single-leg order).';
COMMENT ON COLUMN tradier_orders.order_class IS 'Tradier order class: option, oco, multileg...';
COMMENT ON COLUMN tradier_orders.tag IS 'Order tag; ours look like <recommendation tag>-entry|t1|stop.';
COMMENT ON COLUMN tradier_orders.option_symbol IS 'OCC option symbol of the leg.';
COMMENT ON COLUMN tradier_orders.side IS 'buy_to_open, sell_to_close, ...';
COMMENT ON COLUMN tradier_orders.order_type IS 'limit, stop, stop_limit or market.';
COMMENT ON COLUMN tradier_orders.status IS 'Tradier status of the leg: open, partially_filled, filled, canceled, expired, rejected, pending.';
COMMENT ON COLUMN tradier_orders.quantity IS 'Contracts ordered.';
COMMENT ON COLUMN tradier_orders.price IS 'Limit price in dollars per share of premium, if any.';
COMMENT ON COLUMN tradier_orders.stop_price IS 'Stop (trigger) price, if any.';
COMMENT ON COLUMN tradier_orders.avg_fill_price IS 'Average price of what filled so far (0 or NULL when nothing filled).';
COMMENT ON COLUMN tradier_orders.exec_quantity IS 'Contracts filled so far.';
COMMENT ON COLUMN tradier_orders.remaining_quantity IS 'Contracts still working.';
COMMENT ON COLUMN tradier_orders.last_fill_price IS 'Price of the latest fill.';
COMMENT ON COLUMN tradier_orders.create_date IS 'When the broker accepted the order (UTC).';
COMMENT ON COLUMN tradier_orders.transaction_date IS 'When the order last changed at the broker, e.g. its last fill (UTC).';
COMMENT ON COLUMN tradier_orders.reason_description IS 'The broker''s reason for a rejection or cancellation, if it gave one.';

CREATE TABLE IF NOT EXISTS order_placements (
    run_id           VARCHAR NOT NULL,
    ticket_id        VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,
    account_id       VARCHAR NOT NULL,
    leg              VARCHAR NOT NULL,
    tag              VARCHAR NOT NULL,
    action           VARCHAR NOT NULL,
    broker_order_id  BIGINT,
    message          VARCHAR NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, ticket_id, status)
);

COMMENT ON TABLE order_placements IS 'What each placement run did with each chosen ticket leg (the app database holds the system of record).';
COMMENT ON COLUMN order_placements.run_id IS 'Dagster run of place_order_tickets_job.';
COMMENT ON COLUMN order_placements.ticket_id IS 'order_tickets.ticket_id of the leg.';
COMMENT ON COLUMN order_placements.status IS 'sending (before the POST), placed, already_at_broker, waiting, ambiguous, rejected or error.';
COMMENT ON COLUMN order_placements.account_id IS 'Broker account number.';
COMMENT ON COLUMN order_placements.leg IS 'entry, t1 or runner_stop.';
COMMENT ON COLUMN order_placements.tag IS 'The leg''s tag: the idempotency key looked up at the broker before sending.';
COMMENT ON COLUMN order_placements.action IS 'The plan''s decision: place, already_at_broker, wait_for_entry_fill, wait_for_t1_fill.';
COMMENT ON COLUMN order_placements.broker_order_id IS 'Tradier order id, when known.';
COMMENT ON COLUMN order_placements.message IS 'Why: the broker''s answer, the lookup result or the waiting condition (never a token).';
COMMENT ON COLUMN order_placements.recorded_at IS 'When this status was recorded (UTC).';

CREATE TABLE IF NOT EXISTS execution_fidelity (
    run_id                 VARCHAR NOT NULL,
    captured_at            TIMESTAMPTZ NOT NULL,
    session_date           DATE NOT NULL,
    ticket_id              VARCHAR NOT NULL,
    account_id             VARCHAR NOT NULL,
    setup_id               VARCHAR NOT NULL,
    leg                    VARCHAR NOT NULL,
    option_symbol          VARCHAR NOT NULL,
    side                   VARCHAR NOT NULL,
    order_id               BIGINT NOT NULL,
    broker_leg             INTEGER NOT NULL,
    match                  VARCHAR NOT NULL,
    status                 VARCHAR NOT NULL,
    intended_price         DECIMAL(10,2),
    fill_price             DECIMAL(18,4),
    filled_quantity        INTEGER NOT NULL,
    remaining_quantity     INTEGER NOT NULL,
    slippage_per_contract  DECIMAL(18,4),
    slippage_ticks         DECIMAL(18,4),
    seconds_to_fill        DOUBLE,
    tag                    VARCHAR NOT NULL,
    filled_at              TIMESTAMPTZ,
    PRIMARY KEY (run_id, ticket_id, order_id, broker_leg)
);

COMMENT ON TABLE execution_fidelity IS 'One row per ticket leg that reached the broker: intended against filled, with signed slippage.';
COMMENT ON COLUMN execution_fidelity.run_id IS 'Dagster run that matched the legs.';
COMMENT ON COLUMN execution_fidelity.captured_at IS 'When the run read the broker (UTC).';
COMMENT ON COLUMN execution_fidelity.session_date IS 'Session of the ticket (New York date).';
COMMENT ON COLUMN execution_fidelity.ticket_id IS 'order_tickets.ticket_id.';
COMMENT ON COLUMN execution_fidelity.account_id IS 'Broker account number.';
COMMENT ON COLUMN execution_fidelity.setup_id IS 'Setup the ticket came from.';
COMMENT ON COLUMN execution_fidelity.leg IS 'entry, t1 or runner_stop.';
COMMENT ON COLUMN execution_fidelity.option_symbol IS 'OCC option symbol as the broker filled it.';
COMMENT ON COLUMN execution_fidelity.side IS 'Side of the broker leg.';
COMMENT ON COLUMN execution_fidelity.order_id IS 'Tradier order id (the parent for an OCO).';
COMMENT ON COLUMN execution_fidelity.broker_leg IS 'Leg within the broker order (an OCO has a limit leg 0 and a stop leg 1).';
COMMENT ON COLUMN execution_fidelity.match IS 'tag (our tag on the order) or inferred (a hand-placed order matched by account, symbol, side and session).';
COMMENT ON COLUMN execution_fidelity.status IS 'Broker status of the leg.';
COMMENT ON COLUMN execution_fidelity.intended_price IS 'Price the ticket meant: its limit, or its stop for a stop leg.';
COMMENT ON COLUMN execution_fidelity.fill_price IS 'Average fill price; NULL when nothing filled.';
COMMENT ON COLUMN execution_fidelity.filled_quantity IS 'Contracts filled.';
COMMENT ON COLUMN execution_fidelity.remaining_quantity IS 'Contracts still working.';
COMMENT ON COLUMN execution_fidelity.slippage_per_contract IS 'Dollars per contract, positive = adverse (paid more on a buy, received less on a sell).';
COMMENT ON COLUMN execution_fidelity.slippage_ticks IS 'The same slippage in SPX grid steps between intended and fill, counted across the 3.00 boundary (0.05 below, 0.10 from 3.00: a stop at 3.20 filled at 2.80 is 6 ticks), positive = adverse.';
COMMENT ON COLUMN execution_fidelity.seconds_to_fill IS 'Seconds from the ticket to the latest fill (analytics only).';
COMMENT ON COLUMN execution_fidelity.tag IS 'The ticket leg''s tag (what matched it, unless the match is inferred).';
COMMENT ON COLUMN execution_fidelity.filled_at IS 'When the broker last filled the leg (UTC); NULL when nothing filled.';

CREATE TABLE IF NOT EXISTS position_reconciliation (
    run_id             VARCHAR NOT NULL,
    captured_at        TIMESTAMPTZ NOT NULL,
    session_date       DATE NOT NULL,
    account_id         VARCHAR NOT NULL,
    option_symbol      VARCHAR NOT NULL,
    expected_quantity  INTEGER,
    broker_quantity    DECIMAL(18,4),
    status             VARCHAR NOT NULL,
    reason             VARCHAR NOT NULL,
    PRIMARY KEY (run_id, account_id, option_symbol)
);

COMMENT ON TABLE position_reconciliation IS 'Per account and option symbol: the position our filled tickets imply against the broker''s report.';
COMMENT ON COLUMN position_reconciliation.run_id IS 'Dagster run that reconciled.';
COMMENT ON COLUMN position_reconciliation.captured_at IS 'When the run read the broker (UTC).';
COMMENT ON COLUMN position_reconciliation.session_date IS 'Session reconciled (New York date).';
COMMENT ON COLUMN position_reconciliation.account_id IS 'Broker account number.';
COMMENT ON COLUMN position_reconciliation.option_symbol IS 'OCC option symbol; empty for the account-level row of an account whose positions are unknown.';
COMMENT ON COLUMN position_reconciliation.expected_quantity IS 'Contracts our fills imply (opening minus closing).';
COMMENT ON COLUMN position_reconciliation.broker_quantity IS 'Contracts the broker reports; NULL when its report is missing (never read as flat).';
COMMENT ON COLUMN position_reconciliation.status IS 'matched, missing_at_broker, unexpected_at_broker, quantity_mismatch, acknowledged (an operator accepted the position as it is) or unknown.';
COMMENT ON COLUMN position_reconciliation.reason IS 'Why, in words, with the figures.';

CREATE TABLE IF NOT EXISTS execution_guardrails (
    run_id                          VARCHAR NOT NULL,
    captured_at                     TIMESTAMPTZ NOT NULL,
    setup_id                        VARCHAR NOT NULL,
    account_id                      VARCHAR NOT NULL,
    fills                           INTEGER NOT NULL,
    median_ticks                    DECIMAL(18,4) NOT NULL,
    p90_ticks                       DECIMAL(18,4) NOT NULL,
    median_dollars                  DECIMAL(18,4) NOT NULL,
    p90_dollars                     DECIMAL(18,4) NOT NULL,
    expected_slippage_per_contract  DECIMAL(18,4),
    blocked_reason                  VARCHAR,
    window_sessions                 INTEGER NOT NULL,
    min_fills                       INTEGER NOT NULL,
    max_p90_ticks                   DECIMAL(18,4) NOT NULL,
    PRIMARY KEY (run_id, setup_id, account_id)
);

COMMENT ON TABLE execution_guardrails IS 'Realized slippage of filled legs (entries and exits) per setup (and per account with enough fills) over a window, and what sizing does about it.';
COMMENT ON COLUMN execution_guardrails.run_id IS 'Dagster run that computed the statistics.';
COMMENT ON COLUMN execution_guardrails.captured_at IS 'When they were computed (UTC).';
COMMENT ON COLUMN execution_guardrails.setup_id IS 'Setup the fills came from.';
COMMENT ON COLUMN execution_guardrails.account_id IS 'Account, or empty for the setup across all accounts.';
COMMENT ON COLUMN execution_guardrails.fills IS 'Filled legs (entries and exits) in the window.';
COMMENT ON COLUMN execution_guardrails.median_ticks IS 'Median adverse slippage in ticks (positive = adverse).';
COMMENT ON COLUMN execution_guardrails.p90_ticks IS '90th percentile adverse slippage in ticks.';
COMMENT ON COLUMN execution_guardrails.median_dollars IS 'Median adverse slippage in dollars per contract.';
COMMENT ON COLUMN execution_guardrails.p90_dollars IS '90th percentile adverse slippage in dollars per contract.';
COMMENT ON COLUMN execution_guardrails.expected_slippage_per_contract IS 'Dollars per contract sizing adds to cost and risk (never negative); NULL below min_fills.';
COMMENT ON COLUMN execution_guardrails.blocked_reason IS 'Why the setup is blocked (p90 above the limit), else NULL.';
COMMENT ON COLUMN execution_guardrails.window_sessions IS 'Sessions of fills the statistics cover.';
COMMENT ON COLUMN execution_guardrails.min_fills IS 'Fills needed before the statistics change sizing.';
COMMENT ON COLUMN execution_guardrails.max_p90_ticks IS 'p90 limit in ticks above which the setup is blocked.';
