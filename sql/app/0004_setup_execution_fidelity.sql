-- Execution-fidelity columns from the seed migration: what the broker actually filled, so
-- slippage can be measured against the intended entry. One column per statement (SQLite).

ALTER TABLE spx_setup_instances ADD COLUMN broker TEXT;
ALTER TABLE spx_setup_instances ADD COLUMN broker_order_id TEXT;
ALTER TABLE spx_setup_instances ADD COLUMN entry_order_tag TEXT;
ALTER TABLE spx_setup_instances ADD COLUMN intended_entry_price NUMERIC(18,4);
ALTER TABLE spx_setup_instances ADD COLUMN entry_fill_price NUMERIC(18,4);
ALTER TABLE spx_setup_instances ADD COLUMN entry_slippage NUMERIC(18,4);
ALTER TABLE spx_setup_instances ADD COLUMN t1_fill_price NUMERIC(18,4);
ALTER TABLE spx_setup_instances ADD COLUMN runner_exit_price NUMERIC(18,4);
ALTER TABLE spx_setup_instances ADD COLUMN filled_contracts INTEGER;
ALTER TABLE spx_setup_instances ADD COLUMN executed_at TIMESTAMP;
