-- The order in which setups share an account's risk budget: lower priority numbers are sized
-- first, ties by id (domain.contracts.setup_order). Existing setups keep priority 0.

ALTER TABLE spx_setup_instances ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
