-- Trade setups the recommendation job sizes for every account.

CREATE TABLE spx_setup_instances (
    id                          TEXT NOT NULL PRIMARY KEY,
    label                       TEXT,
    symbol                      TEXT NOT NULL DEFAULT 'SPX',
    direction                   TEXT NOT NULL,
    target_delta                DOUBLE PRECISION NOT NULL DEFAULT 0.40,
    stop_premium                NUMERIC(18,4),
    t1_gain_pct                 NUMERIC(18,4) NOT NULL DEFAULT 0.5,
    t1_fraction                 NUMERIC(18,4) NOT NULL DEFAULT 0.5,
    runner_stop_limit_offset    NUMERIC(18,4),
    status                      TEXT NOT NULL DEFAULT 'active',
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL,
    CONSTRAINT spx_setup_instances_direction_check CHECK (direction IN ('bullish', 'bearish')),
    CONSTRAINT spx_setup_instances_status_check
        CHECK (status IN ('active', 'inactive', 'triggered', 'closed')),
    CONSTRAINT spx_setup_instances_target_delta_check CHECK (target_delta > 0 AND target_delta <= 1)
);

CREATE INDEX spx_setup_instances_status_idx ON spx_setup_instances (status);
