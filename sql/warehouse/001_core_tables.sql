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

-- contract_recommendations and adhoc_contract_recommendations: 003_recommendation_tables.sql.

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

-- Descriptions, written once: Dagster's column schemas show them and analysts query them with
-- duckdb_columns() / duckdb_tables() (the analyst copy's views carry the same text).

COMMENT ON TABLE broker_credentials IS 'Current, redacted view of the credential store: no token, no ciphertext.';
COMMENT ON COLUMN broker_credentials.account_id IS 'Broker account number (e.g. VA12345678).';
COMMENT ON COLUMN broker_credentials.label IS 'Operator''s free-text label for the account, if any.';
COMMENT ON COLUMN broker_credentials.environment IS 'Tradier environment the token belongs to: sandbox or live.';
COMMENT ON COLUMN broker_credentials.is_active IS 'Whether the account is synced (deactivated accounts are kept, not synced).';
COMMENT ON COLUMN broker_credentials.token_fingerprint IS 'Short sha256 prefix of the token, to tell tokens apart; not reversible.';
COMMENT ON COLUMN broker_credentials.created_at IS 'When the credential was first stored (UTC).';
COMMENT ON COLUMN broker_credentials.updated_at IS 'When the credential last changed: rotated, activated or deactivated (UTC).';
COMMENT ON COLUMN broker_credentials.captured_at IS 'When this listing was copied from the app database (UTC).';
COMMENT ON COLUMN broker_credentials.run_id IS 'Dagster run that copied the listing.';

COMMENT ON TABLE tradier_balances IS 'Every balances response, normalized across margin, cash and pdt accounts, with the raw JSON kept.';
COMMENT ON COLUMN tradier_balances.run_id IS 'Dagster run that fetched the balances.';
COMMENT ON COLUMN tradier_balances.account_id IS 'Broker account number.';
COMMENT ON COLUMN tradier_balances.captured_at IS 'When the sync fetched the balances (UTC).';
COMMENT ON COLUMN tradier_balances.environment IS 'Tradier environment: sandbox or live.';
COMMENT ON COLUMN tradier_balances.account_type IS 'Account type as Tradier reports it: margin, cash or pdt.';
COMMENT ON COLUMN tradier_balances.total_equity IS 'Total account equity, $.';
COMMENT ON COLUMN tradier_balances.total_cash IS 'Total cash in the account, $.';
COMMENT ON COLUMN tradier_balances.market_value IS 'Market value of all positions, $.';
COMMENT ON COLUMN tradier_balances.long_market_value IS 'Market value of long positions, $.';
COMMENT ON COLUMN tradier_balances.short_market_value IS 'Market value of short positions, $.';
COMMENT ON COLUMN tradier_balances.option_long_value IS 'Market value of long option positions, $.';
COMMENT ON COLUMN tradier_balances.option_short_value IS 'Market value of short option positions, $.';
COMMENT ON COLUMN tradier_balances.open_pl IS 'Unrealized profit or loss of open positions, $.';
COMMENT ON COLUMN tradier_balances.close_pl IS 'Realized profit or loss of positions closed today, $.';
COMMENT ON COLUMN tradier_balances.current_requirement IS 'Current margin requirement, $.';
COMMENT ON COLUMN tradier_balances.option_requirement IS 'Margin requirement of option positions, $.';
COMMENT ON COLUMN tradier_balances.pending_orders_count IS 'Number of open (pending) orders.';
COMMENT ON COLUMN tradier_balances.pending_cash IS 'Cash held by pending orders, $.';
COMMENT ON COLUMN tradier_balances.uncleared_funds IS 'Deposits not yet cleared, $.';
COMMENT ON COLUMN tradier_balances.option_buying_power IS 'Option buying power of a margin or pdt account, $; NULL for cash accounts.';
COMMENT ON COLUMN tradier_balances.stock_buying_power IS 'Stock buying power of a margin or pdt account, $.';
COMMENT ON COLUMN tradier_balances.day_trade_buying_power IS 'Day-trade buying power, $; pdt accounts only, when reported.';
COMMENT ON COLUMN tradier_balances.cash_available IS 'Settled cash available to trade, $; cash accounts (NULL for margin/pdt).';
COMMENT ON COLUMN tradier_balances.unsettled_funds IS 'Proceeds of sales not yet settled, $.';
COMMENT ON COLUMN tradier_balances.fed_call IS 'Federal (Reg T) margin call, $.';
COMMENT ON COLUMN tradier_balances.maintenance_call IS 'Maintenance margin call, $.';
COMMENT ON COLUMN tradier_balances.raw_json IS 'The balances object exactly as Tradier returned it.';

COMMENT ON TABLE sync_failures IS 'Per-account failures of a sync run, with the reason (never a token).';
COMMENT ON COLUMN sync_failures.run_id IS 'Dagster run whose sync failed for the account.';
COMMENT ON COLUMN sync_failures.account_id IS 'Broker account number.';
COMMENT ON COLUMN sync_failures.stage IS 'Which part of the sync failed, e.g. balances.';
COMMENT ON COLUMN sync_failures.captured_at IS 'When the failure happened (UTC).';
COMMENT ON COLUMN sync_failures.error_class IS 'Class of the error, e.g. TradierAuthError.';
COMMENT ON COLUMN sync_failures.http_status IS 'HTTP status of the broker''s answer, when there was one.';
COMMENT ON COLUMN sync_failures.message IS 'What went wrong, in one line (redacted).';

COMMENT ON TABLE portfolio_snapshots IS 'Validated portfolio history: one row per account and capture time.';
COMMENT ON COLUMN portfolio_snapshots.account_id IS 'Broker account number.';
COMMENT ON COLUMN portfolio_snapshots.captured_at IS 'When the balances behind the snapshot were fetched (UTC).';
COMMENT ON COLUMN portfolio_snapshots.account_type IS 'margin, cash or pdt: decides which buying power limits option buys.';
COMMENT ON COLUMN portfolio_snapshots.environment IS 'Tradier environment: sandbox or live.';
COMMENT ON COLUMN portfolio_snapshots.total_equity IS 'Total account equity, $.';
COMMENT ON COLUMN portfolio_snapshots.cash IS 'Total cash in the account, $.';
COMMENT ON COLUMN portfolio_snapshots.option_buying_power IS 'What limits option buys, $: option buying power (margin/pdt) or settled cash (cash accounts).';
COMMENT ON COLUMN portfolio_snapshots.day_trade_buying_power IS 'Day-trade buying power, $, when reported (limits same-day expiries).';
COMMENT ON COLUMN portfolio_snapshots.pending_orders_count IS 'Number of open (pending) orders.';
COMMENT ON COLUMN portfolio_snapshots.pending_cash IS 'Cash held by pending orders, $.';
COMMENT ON COLUMN portfolio_snapshots.pdt_qualified IS 'Margin or pdt account with at least $25,000 equity (the pattern-day-trader rule).';
COMMENT ON COLUMN portfolio_snapshots.run_id IS 'Dagster run that wrote the snapshot.';

COMMENT ON TABLE spx_option_chain IS 'SPX/SPXW option chains with greeks as fetched, symbols parsed by the domain OCC module.';
COMMENT ON COLUMN spx_option_chain.run_id IS 'Dagster run that fetched the chain.';
COMMENT ON COLUMN spx_option_chain.captured_at IS 'When the chain was fetched (UTC).';
COMMENT ON COLUMN spx_option_chain.trading_day IS 'NYSE session the chain was fetched for.';
COMMENT ON COLUMN spx_option_chain.symbol IS 'Option symbol in Tradier form, e.g. SPXW261201C06000000.';
COMMENT ON COLUMN spx_option_chain.symbol_osi IS 'Option symbol in OCC/OSI form (root padded to six characters).';
COMMENT ON COLUMN spx_option_chain.symbol_massive IS 'Option symbol in Massive (Polygon) form, O:-prefixed.';
COMMENT ON COLUMN spx_option_chain.root_symbol IS 'Option root: SPXW (PM-settled dailies) or SPX (AM monthlies).';
COMMENT ON COLUMN spx_option_chain.underlying IS 'Underlying index symbol (SPX).';
COMMENT ON COLUMN spx_option_chain.expiration_date IS 'Expiration date of the contract.';
COMMENT ON COLUMN spx_option_chain.option_type IS 'call or put.';
COMMENT ON COLUMN spx_option_chain.strike IS 'Strike price, index points.';
COMMENT ON COLUMN spx_option_chain.bid IS 'Best bid, $ per share of premium.';
COMMENT ON COLUMN spx_option_chain.ask IS 'Best ask, $ per share of premium.';
COMMENT ON COLUMN spx_option_chain.last IS 'Last trade price, $ per share of premium.';
COMMENT ON COLUMN spx_option_chain.volume IS 'Contracts traded in the session so far.';
COMMENT ON COLUMN spx_option_chain.open_interest IS 'Open contracts at the previous close.';
COMMENT ON COLUMN spx_option_chain.delta IS 'Option delta from the broker''s greeks.';
COMMENT ON COLUMN spx_option_chain.gamma IS 'Option gamma from the broker''s greeks.';
COMMENT ON COLUMN spx_option_chain.theta IS 'Option theta (per day) from the broker''s greeks.';
COMMENT ON COLUMN spx_option_chain.vega IS 'Option vega from the broker''s greeks.';
COMMENT ON COLUMN spx_option_chain.mid_iv IS 'Implied volatility at the mid price.';
COMMENT ON COLUMN spx_option_chain.greeks_updated_at IS 'When the broker last updated the greeks (UTC).';
COMMENT ON COLUMN spx_option_chain.quote_time IS 'Time of the staler of the bid and ask quotes (UTC): a quote is as fresh as its older side.';
COMMENT ON COLUMN spx_option_chain.is_0dte IS 'The contract expires on the trading day itself.';

COMMENT ON TABLE order_tickets IS 'Order tickets: Tradier form payloads per leg, optionally previewed; never placed.';
COMMENT ON COLUMN order_tickets.ticket_id IS 'Deterministic id: the recommendation key and the leg.';
COMMENT ON COLUMN order_tickets.as_of_date IS 'Trading day of the recommendation the ticket comes from.';
COMMENT ON COLUMN order_tickets.setup_id IS 'Setup of the recommendation.';
COMMENT ON COLUMN order_tickets.account_id IS 'Broker account the ticket is for.';
COMMENT ON COLUMN order_tickets.risk_fingerprint IS 'Fingerprint of the risk context the recommendation was sized with.';
COMMENT ON COLUMN order_tickets.leg IS 'entry, t1 (scale-out target, OCO with the stop when the setup has one) or runner_stop.';
COMMENT ON COLUMN order_tickets.side IS 'Tradier order side, e.g. buy_to_open or sell_to_close.';
COMMENT ON COLUMN order_tickets.order_type IS 'Tradier order type: limit, stop or stop_limit.';
COMMENT ON COLUMN order_tickets.option_symbol IS 'Option symbol in Tradier form.';
COMMENT ON COLUMN order_tickets.underlying_symbol IS 'Underlying symbol sent with the order (SPX).';
COMMENT ON COLUMN order_tickets.quantity IS 'Contracts in the order.';
COMMENT ON COLUMN order_tickets.price IS 'Limit price on the SPX tick grid, $ per share of premium.';
COMMENT ON COLUMN order_tickets.stop_price IS 'Stop trigger price on the SPX tick grid, $ per share of premium.';
COMMENT ON COLUMN order_tickets.duration IS 'Time in force, e.g. day.';
COMMENT ON COLUMN order_tickets.tag IS 'Tradier order tag unique to the recommendation: the idempotency key.';
COMMENT ON COLUMN order_tickets.payload_json IS 'The form payload exactly as it would be sent to Tradier.';
COMMENT ON COLUMN order_tickets.preview_status IS 'not_requested, ok, rejected or error.';
COMMENT ON COLUMN order_tickets.preview_cost IS 'Order cost from the broker''s preview, $.';
COMMENT ON COLUMN order_tickets.preview_commission IS 'Commission from the broker''s preview, $.';
COMMENT ON COLUMN order_tickets.preview_fees IS 'Fees from the broker''s preview, $.';
COMMENT ON COLUMN order_tickets.preview_message IS 'Why the preview was rejected or failed.';
COMMENT ON COLUMN order_tickets.created_at IS 'When the ticket was built (UTC).';
COMMENT ON COLUMN order_tickets.run_id IS 'Dagster run that built the ticket.';
