-- Placement runs' record of every chosen ticket leg: the system of record for what was sent.
-- One row per ticket leg and status step (sending, then its outcome), so a crash between the POST
-- and the outcome leaves 'sending' behind for the next run (which settles it through the tag).

CREATE TABLE order_placements (
    run_id           TEXT NOT NULL,
    ticket_id        TEXT NOT NULL,
    status           TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    leg              TEXT NOT NULL,
    tag              TEXT NOT NULL,
    action           TEXT NOT NULL,
    broker_order_id  TEXT,
    message          TEXT NOT NULL,
    recorded_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, ticket_id, status)
);

CREATE INDEX order_placements_tag_idx ON order_placements (tag);
