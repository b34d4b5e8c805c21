-- The setups the recommendations were sized for, as the app database held them when a run read
-- them (spx_setup_instances is the system of record): stop, T1 and priority beside each run's
-- recommendations. Every run's copy is kept, so a recommendation is read with the setup it used.

CREATE TABLE IF NOT EXISTS spx_setups (
    run_id                    VARCHAR NOT NULL,
    captured_at               TIMESTAMPTZ NOT NULL,
    setup_id                  VARCHAR NOT NULL,
    label                     VARCHAR,
    symbol                    VARCHAR NOT NULL,
    direction                 VARCHAR NOT NULL,
    target_delta              DOUBLE NOT NULL,
    stop_premium              DECIMAL(18,4),
    t1_gain_pct               DECIMAL(18,4) NOT NULL,
    t1_fraction               DECIMAL(18,4) NOT NULL,
    runner_stop_limit_offset  DECIMAL(18,4),
    priority                  INTEGER NOT NULL,
    status                    VARCHAR NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, setup_id)
);

COMMENT ON TABLE spx_setups IS 'Trade setups as the app database held them when a run read them (every run''s copy kept).';
COMMENT ON COLUMN spx_setups.run_id IS 'Dagster run that copied the setups from the app database.';
COMMENT ON COLUMN spx_setups.captured_at IS 'When the run read them (UTC).';
COMMENT ON COLUMN spx_setups.setup_id IS 'Setup id (contract_recommendations.setup_id).';
COMMENT ON COLUMN spx_setups.label IS 'Operator''s free-text label, if any.';
COMMENT ON COLUMN spx_setups.symbol IS 'Underlying index: SPX (SPX and SPXW series).';
COMMENT ON COLUMN spx_setups.direction IS 'bullish (calls) or bearish (puts).';
COMMENT ON COLUMN spx_setups.target_delta IS 'Absolute delta the setup aims for.';
COMMENT ON COLUMN spx_setups.stop_premium IS 'Protective stop as an option premium, $ per share; NULL when the setup has no stop (the premium is the risk).';
COMMENT ON COLUMN spx_setups.t1_gain_pct IS 'T1 target as a gain over the entry price, as a fraction (0.5 = +50%).';
COMMENT ON COLUMN spx_setups.t1_fraction IS 'Share of the contracts sold at T1, as a fraction (0.5 = half).';
COMMENT ON COLUMN spx_setups.runner_stop_limit_offset IS 'Limit offset of the runner''s stop-limit below its stop, $ per share; NULL for a plain stop.';
COMMENT ON COLUMN spx_setups.priority IS 'Order in which setups spend an account''s budget: lower first, ties by id.';
COMMENT ON COLUMN spx_setups.status IS 'active, inactive, triggered or closed (only active setups are sized).';
COMMENT ON COLUMN spx_setups.created_at IS 'When the setup was stored (UTC).';
COMMENT ON COLUMN spx_setups.updated_at IS 'When the setup last changed (UTC).';
