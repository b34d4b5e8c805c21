-- One definition, two tables: scheduled recommendations (contract_recommendations: every active
-- setup x every synced account's latest risk context) and ad-hoc requests
-- (adhoc_contract_recommendations: the run config carries the risk context; never touches the
-- scheduled table) share every column below.
-- The scheduled table keeps every run's rows (its key includes run_id), so what a trader saw at
-- 10:00 and why it was blocked can be read later; "the newest" means the newest run's rows. A
-- warehouse made with the earlier key (without run_id) is rebuilt, rows kept, by ensure_schema.
-- This file is a template: it is applied once per table named on the `-- tables:` line, with
-- {table} replaced by the name; a line ending in `-- only: <table>` is kept for that table alone.
-- tables: contract_recommendations, adhoc_contract_recommendations

CREATE TABLE IF NOT EXISTS {table} (
    request_run_id      VARCHAR NOT NULL,               -- only: adhoc_contract_recommendations
    as_of_date          DATE NOT NULL,
    setup_id            VARCHAR NOT NULL,
    account_id          VARCHAR NOT NULL,
    risk_fingerprint    VARCHAR NOT NULL,
    generated_at        TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR NOT NULL,               -- only: contract_recommendations
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
    PRIMARY KEY (run_id, as_of_date, setup_id, account_id, risk_fingerprint)  -- only: contract_recommendations
    PRIMARY KEY (request_run_id, setup_id, account_id)                -- only: adhoc_contract_recommendations
);

COMMENT ON TABLE {table} IS 'Recommended SPX contract and size per setup and account, every run''s rows kept (keyed by run): tradable (at least one contract) or blocked with a reason.'; -- only: contract_recommendations
COMMENT ON TABLE {table} IS 'Ad-hoc recommendation requests (the run config carries the risk context); never touches contract_recommendations.'; -- only: adhoc_contract_recommendations
COMMENT ON COLUMN {table}.request_run_id IS 'Dagster run that made the ad-hoc request.'; -- only: adhoc_contract_recommendations
COMMENT ON COLUMN {table}.run_id IS 'Dagster run that generated the recommendation.'; -- only: contract_recommendations
COMMENT ON COLUMN {table}.as_of_date IS 'Trading day the recommendation is for.';
COMMENT ON COLUMN {table}.setup_id IS 'Setup the contract was selected for.';
COMMENT ON COLUMN {table}.account_id IS 'Broker account whose risk context sized it.';
COMMENT ON COLUMN {table}.risk_fingerprint IS 'Fingerprint of the risk context used: one account''s sizing never leaks into another''s.';
COMMENT ON COLUMN {table}.generated_at IS 'When the recommendation was generated (UTC).';
COMMENT ON COLUMN {table}.direction IS 'bullish (calls) or bearish (puts).';
COMMENT ON COLUMN {table}.target_delta IS 'Absolute delta the setup aims for.';
COMMENT ON COLUMN {table}.symbol IS 'Selected option in Tradier form; NULL when nothing qualified.';
COMMENT ON COLUMN {table}.symbol_osi IS 'Selected option in OCC/OSI form.';
COMMENT ON COLUMN {table}.symbol_massive IS 'Selected option in Massive (Polygon) form.';
COMMENT ON COLUMN {table}.root_symbol IS 'Option root: SPXW or SPX.';
COMMENT ON COLUMN {table}.expiration_date IS 'Expiration date of the selected contract.';
COMMENT ON COLUMN {table}.strike IS 'Strike of the selected contract, index points.';
COMMENT ON COLUMN {table}.option_type IS 'call or put.';
COMMENT ON COLUMN {table}.bid IS 'Bid of the selected contract when chosen, $ per share of premium.';
COMMENT ON COLUMN {table}.ask IS 'Ask of the selected contract when chosen, $ per share of premium.';
COMMENT ON COLUMN {table}.mid IS 'Mid of bid and ask, $ per share of premium.';
COMMENT ON COLUMN {table}.limit_price IS 'Entry limit price on the SPX tick grid, $ per share of premium.';
COMMENT ON COLUMN {table}.delta IS 'Delta of the selected contract.';
COMMENT ON COLUMN {table}.suggested_contracts IS 'Contracts to buy (0 when blocked).';
COMMENT ON COLUMN {table}.suggested_cost IS 'Premium plus fees of the suggested contracts, $.';
COMMENT ON COLUMN {table}.binding_constraint IS 'The limit that bound the size, e.g. max_risk, buying_power or day_trade_buying_power.';
COMMENT ON COLUMN {table}.sizing_reason IS 'Why this size, in one sentence.';
COMMENT ON COLUMN {table}.blocked IS 'True when the setup must not be traded for this account now.';
COMMENT ON COLUMN {table}.blocked_reason IS 'Why it is blocked; NULL when tradable.';
