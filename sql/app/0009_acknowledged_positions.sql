-- Positions an operator knows about and accepts (opened by hand, held from before the pipeline):
-- reconciliation reports them as acknowledged instead of unexpected, for as long as the broker's
-- quantity is the one acknowledged.

CREATE TABLE acknowledged_positions (
    account_id       TEXT NOT NULL,
    option_symbol    TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    note             TEXT NOT NULL,
    acknowledged_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, option_symbol)
);
