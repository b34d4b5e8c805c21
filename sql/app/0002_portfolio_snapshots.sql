-- Portfolio history as synced from the broker (the app-side copy of the seed's table).
-- Money is NUMERIC(18,4); captured_at is a UTC timestamp without zone.

CREATE TABLE portfolio_snapshots (
    account_id              TEXT NOT NULL,
    captured_at             TIMESTAMP NOT NULL,
    account_type            TEXT NOT NULL,
    environment             TEXT NOT NULL,
    total_equity            NUMERIC(18,4) NOT NULL,
    cash                    NUMERIC(18,4) NOT NULL,
    option_buying_power     NUMERIC(18,4) NOT NULL,
    day_trade_buying_power  NUMERIC(18,4),
    pending_orders_count    INTEGER NOT NULL DEFAULT 0,
    pdt_qualified           BOOLEAN NOT NULL,
    run_id                  TEXT,
    PRIMARY KEY (account_id, captured_at),
    CONSTRAINT portfolio_snapshots_account_type_check CHECK (account_type IN ('margin', 'cash', 'pdt')),
    CONSTRAINT portfolio_snapshots_environment_check CHECK (environment IN ('sandbox', 'live'))
);

CREATE INDEX portfolio_snapshots_captured_at_idx ON portfolio_snapshots (captured_at);
