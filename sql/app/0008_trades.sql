-- Trades: the system of record for what the pipeline sends to the broker, across runs and sessions.
-- One trade per account x setup x session (born from a recommendation, frozen once its entry is
-- claimed); one row per order with a unique tag, claimed here before the POST so no second run,
-- instance or host can send it again; every state change as an event with its reason and time.

CREATE TABLE trades (
    trade_id                  TEXT NOT NULL PRIMARY KEY,
    account_id                TEXT NOT NULL,
    setup_id                  TEXT NOT NULL,
    session_date              DATE NOT NULL,
    tag                       TEXT NOT NULL,
    state                     TEXT NOT NULL,
    version                   INTEGER NOT NULL,
    option_symbol             TEXT NOT NULL,
    expiration_date           DATE NOT NULL,
    planned_quantity          INTEGER NOT NULL,
    limit_price               NUMERIC(18,4) NOT NULL,
    stop_price                NUMERIC(18,4),
    t1_price                  NUMERIC(18,4),
    t1_fraction               NUMERIC(18,4) NOT NULL,
    runner_stop_limit_offset  NUMERIC(18,4),
    risk_per_contract         NUMERIC(18,4) NOT NULL,
    cost_per_contract         NUMERIC(18,4) NOT NULL,
    pdt_qualified             BOOLEAN,
    risk_fingerprint          TEXT NOT NULL,
    recommendation_run_id     TEXT NOT NULL,
    blocked_reason            TEXT,
    close_reason              TEXT,
    filled_quantity           INTEGER NOT NULL DEFAULT 0,
    exited_quantity           INTEGER NOT NULL DEFAULT 0,
    entry_price               NUMERIC(18,4),
    realized_pnl              NUMERIC(18,4),
    risk_committed            NUMERIC(18,4) NOT NULL DEFAULT 0,
    entry_sent_at             TIMESTAMP,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    closed_at                 TIMESTAMP,
    CONSTRAINT trades_one_per_setup_session UNIQUE (account_id, setup_id, session_date),
    CONSTRAINT trades_tag_unique UNIQUE (tag),
    CONSTRAINT trades_state_check CHECK (state IN (
        'planned', 'entry_working', 'open', 'exits_working', 't1_filled', 'runner', 'closed', 'abandoned')),
    CONSTRAINT trades_close_reason_check CHECK (
        close_reason IS NULL OR close_reason IN ('target', 'stop', 'manual', 'expired')),
    CONSTRAINT trades_quantity_check CHECK (planned_quantity >= 1)
);

CREATE INDEX trades_session_account_idx ON trades (session_date, account_id);
CREATE INDEX trades_state_idx ON trades (state);

CREATE TABLE trade_orders (
    tag               TEXT NOT NULL PRIMARY KEY,
    trade_id          TEXT NOT NULL REFERENCES trades (trade_id),
    account_id        TEXT NOT NULL,
    leg               TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    order_class       TEXT NOT NULL,
    side              TEXT NOT NULL,
    order_type        TEXT NOT NULL,
    quantity          INTEGER NOT NULL,
    price             NUMERIC(18,4),
    stop_price        NUMERIC(18,4),
    duration          TEXT NOT NULL,
    session_date      DATE NOT NULL,
    local_status      TEXT NOT NULL,
    payload_json      TEXT NOT NULL,
    broker_order_id   TEXT,
    broker_status     TEXT,
    open_filled       INTEGER NOT NULL DEFAULT 0,
    open_avg          NUMERIC(18,4),
    target_filled     INTEGER NOT NULL DEFAULT 0,
    target_avg        NUMERIC(18,4),
    stop_filled       INTEGER NOT NULL DEFAULT 0,
    stop_avg          NUMERIC(18,4),
    working_open      INTEGER NOT NULL DEFAULT 0,
    working_target    INTEGER NOT NULL DEFAULT 0,
    working_stop      INTEGER NOT NULL DEFAULT 0,
    broker_reason     TEXT,
    reported_at       TIMESTAMP,
    message           TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    claimed_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    version           INTEGER NOT NULL,
    CONSTRAINT trade_orders_leg_seq UNIQUE (trade_id, leg, seq),
    CONSTRAINT trade_orders_leg_check CHECK (leg IN ('entry', 't1', 'runner_stop')),
    CONSTRAINT trade_orders_local_status_check CHECK (local_status IN (
        'claimed', 'sending', 'sent', 'ambiguous', 'rejected', 'void')),
    CONSTRAINT trade_orders_quantity_check CHECK (quantity >= 1)
);

CREATE INDEX trade_orders_trade_idx ON trade_orders (trade_id);
CREATE INDEX trade_orders_account_session_idx ON trade_orders (account_id, session_date);

CREATE TABLE trade_events (
    trade_id         TEXT NOT NULL REFERENCES trades (trade_id),
    seq              INTEGER NOT NULL,
    occurred_at      TIMESTAMP NOT NULL,
    from_state       TEXT,
    to_state         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    filled_quantity  INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    realized_pnl     NUMERIC(18,4),
    run_id           TEXT NOT NULL,
    PRIMARY KEY (trade_id, seq)
);

-- Per-account limits an operator sets (`spx-pipeline limits set`); run config may lower them only.
CREATE TABLE account_limits (
    account_id      TEXT NOT NULL PRIMARY KEY,
    max_daily_risk  NUMERIC(18,4),
    max_trade_risk  NUMERIC(18,4),
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT account_limits_positive CHECK (
        (max_daily_risk IS NULL OR max_daily_risk >= 0) AND (max_trade_risk IS NULL OR max_trade_risk >= 0))
);
