-- spx-pipeline analyst warehouse (DuckDB, default schema).
-- Table and column names are a public interface: analysts' SQL depends on them.
-- Add columns in a new numbered file (ALTER TABLE ... ADD COLUMN IF NOT EXISTS); never rename.
-- Money is DECIMAL(18,4); times are TIMESTAMPTZ in UTC; run_id is the Dagster run that wrote the row.

-- Current, redacted view of the credential store: no token, no ciphertext.
CREATE TABLE IF NOT EXISTS broker_credentials (
    account_id          VARCHAR NOT NULL PRIMARY KEY,
    label               VARCHAR,
    environment         VARCHAR NOT NULL,        -- sandbox | live
    is_active           BOOLEAN NOT NULL,
    token_fingerprint   VARCHAR NOT NULL,        -- sha256 prefix, not reversible
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    captured_at         TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR NOT NULL
);

-- Every balances response, normalized, with the raw JSON kept alongside.
CREATE TABLE IF NOT EXISTS tradier_balances (
    run_id                  VARCHAR NOT NULL,
    account_id              VARCHAR NOT NULL,
    captured_at             TIMESTAMPTZ NOT NULL,
    environment             VARCHAR NOT NULL,
    account_type            VARCHAR NOT NULL,    -- margin | cash | pdt
    total_equity            DECIMAL(18,4),
    total_cash              DECIMAL(18,4),
    market_value            DECIMAL(18,4),
    long_market_value       DECIMAL(18,4),
    short_market_value      DECIMAL(18,4),
    option_long_value       DECIMAL(18,4),
    option_short_value      DECIMAL(18,4),
    open_pl                 DECIMAL(18,4),
    close_pl                DECIMAL(18,4),
    current_requirement     DECIMAL(18,4),
    option_requirement      DECIMAL(18,4),
    pending_orders_count    INTEGER,
    pending_cash            DECIMAL(18,4),
    uncleared_funds         DECIMAL(18,4),
    option_buying_power     DECIMAL(18,4),       -- margin/pdt sub-object; NULL for cash
    stock_buying_power      DECIMAL(18,4),
    day_trade_buying_power  DECIMAL(18,4),       -- pdt only, when reported
    cash_available          DECIMAL(18,4),       -- cash sub-object; NULL for margin/pdt
    unsettled_funds         DECIMAL(18,4),
    fed_call                DECIMAL(18,4),
    maintenance_call        DECIMAL(18,4),
    raw_json                JSON NOT NULL,
    PRIMARY KEY (run_id, account_id)
);

-- Per-account failures of a sync run (never a token).
CREATE TABLE IF NOT EXISTS sync_failures (
    run_id          VARCHAR NOT NULL,
    account_id      VARCHAR NOT NULL,
    stage           VARCHAR NOT NULL,            -- e.g. balances
    captured_at     TIMESTAMPTZ NOT NULL,
    error_class     VARCHAR NOT NULL,
    http_status     INTEGER,
    message         VARCHAR NOT NULL,
    PRIMARY KEY (run_id, account_id, stage)
);

-- Validated portfolio history: one row per account and capture time.
CREATE TABLE IF NOT EXISTS portfolio_snapshots (
    account_id              VARCHAR NOT NULL,
    captured_at             TIMESTAMPTZ NOT NULL,
    account_type            VARCHAR NOT NULL,
    environment             VARCHAR NOT NULL,
    total_equity            DECIMAL(18,4) NOT NULL,
    cash                    DECIMAL(18,4) NOT NULL,
    option_buying_power     DECIMAL(18,4) NOT NULL,  -- what limits option buys: cash_available for cash accounts
    day_trade_buying_power  DECIMAL(18,4),
    pending_orders_count    INTEGER NOT NULL,
    pending_cash            DECIMAL(18,4),
    pdt_qualified           BOOLEAN NOT NULL,
    run_id                  VARCHAR NOT NULL,
    PRIMARY KEY (account_id, captured_at)
);

-- Option chains as fetched, parsed with the domain OCC module.
CREATE TABLE IF NOT EXISTS spx_option_chain (
    run_id              VARCHAR NOT NULL,
    captured_at         TIMESTAMPTZ NOT NULL,
    trading_day         DATE NOT NULL,           -- NYSE session the chain was fetched for
    symbol              VARCHAR NOT NULL,        -- Tradier form
    symbol_osi          VARCHAR NOT NULL,
    symbol_massive      VARCHAR NOT NULL,
    root_symbol         VARCHAR NOT NULL,
    underlying          VARCHAR NOT NULL,
    expiration_date     DATE NOT NULL,
    option_type         VARCHAR NOT NULL,        -- call | put
    strike              DECIMAL(12,3) NOT NULL,
    bid                 DOUBLE,
    ask                 DOUBLE,
    last                DOUBLE,
    volume              BIGINT,
    open_interest       BIGINT,
    delta               DOUBLE,
    gamma               DOUBLE,
    theta               DOUBLE,
    vega                DOUBLE,
    mid_iv              DOUBLE,
    greeks_updated_at   TIMESTAMPTZ,
    quote_time          TIMESTAMPTZ,
    is_0dte             BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, symbol)
);

-- Scheduled recommendations: every active setup x every synced account's latest risk context.
CREATE TABLE IF NOT EXISTS contract_recommendations (
    as_of_date          DATE NOT NULL,
    setup_id            VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    risk_fingerprint    VARCHAR NOT NULL,
    generated_at        TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR NOT NULL,
    direction           VARCHAR NOT NULL,
    target_delta        DOUBLE NOT NULL,
    symbol              VARCHAR,                 -- Tradier form; NULL when nothing qualified
    symbol_osi          VARCHAR,
    symbol_massive      VARCHAR,
    root_symbol         VARCHAR,
    expiration_date     DATE,
    strike              DECIMAL(12,3),
    option_type         VARCHAR,
    bid                 DOUBLE,
    ask                 DOUBLE,
    mid                 DOUBLE,
    limit_price         DECIMAL(10,2),
    delta               DOUBLE,
    suggested_contracts INTEGER NOT NULL,
    suggested_cost      DECIMAL(18,4) NOT NULL,
    binding_constraint  VARCHAR,
    sizing_reason       VARCHAR NOT NULL,
    blocked             BOOLEAN NOT NULL,
    blocked_reason      VARCHAR,
    PRIMARY KEY (as_of_date, setup_id, account_id, risk_fingerprint)
);

-- Ad-hoc requests (run config carries the risk context); never touches the scheduled table.
CREATE TABLE IF NOT EXISTS adhoc_contract_recommendations (
    request_run_id      VARCHAR NOT NULL,
    as_of_date          DATE NOT NULL,
    setup_id            VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    risk_fingerprint    VARCHAR NOT NULL,
    generated_at        TIMESTAMPTZ NOT NULL,
    direction           VARCHAR NOT NULL,
    target_delta        DOUBLE NOT NULL,
    symbol              VARCHAR,
    symbol_osi          VARCHAR,
    symbol_massive      VARCHAR,
    root_symbol         VARCHAR,
    expiration_date     DATE,
    strike              DECIMAL(12,3),
    option_type         VARCHAR,
    bid                 DOUBLE,
    ask                 DOUBLE,
    mid                 DOUBLE,
    limit_price         DECIMAL(10,2),
    delta               DOUBLE,
    suggested_contracts INTEGER NOT NULL,
    suggested_cost      DECIMAL(18,4) NOT NULL,
    binding_constraint  VARCHAR,
    sizing_reason       VARCHAR NOT NULL,
    blocked             BOOLEAN NOT NULL,
    blocked_reason      VARCHAR,
    PRIMARY KEY (request_run_id, setup_id, account_id)
);

-- Order tickets: Tradier form payloads per leg, optionally previewed (never placed).
CREATE TABLE IF NOT EXISTS order_tickets (
    ticket_id           VARCHAR NOT NULL PRIMARY KEY,   -- deterministic: recommendation key + leg
    as_of_date          DATE NOT NULL,
    setup_id            VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    risk_fingerprint    VARCHAR NOT NULL,
    leg                 VARCHAR NOT NULL,        -- entry | t1 | runner_stop
    side                VARCHAR NOT NULL,
    order_type          VARCHAR NOT NULL,
    option_symbol       VARCHAR NOT NULL,
    underlying_symbol   VARCHAR NOT NULL,
    quantity            INTEGER NOT NULL,
    price               DECIMAL(10,2),
    stop_price          DECIMAL(10,2),
    duration            VARCHAR NOT NULL,
    tag                 VARCHAR NOT NULL,
    payload_json        JSON NOT NULL,
    preview_status      VARCHAR NOT NULL,        -- not_requested | ok | rejected | error
    preview_cost        DECIMAL(18,4),
    preview_commission  DECIMAL(18,4),
    preview_fees        DECIMAL(18,4),
    preview_message     VARCHAR,
    created_at          TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR NOT NULL
);
