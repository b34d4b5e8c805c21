-- The most recent validated portfolio snapshot of every account, newest first.
-- No parameters: runs as it stands on the analyst copy (data/warehouse_analyst.duckdb, published runs only).
SELECT
    account_id,
    captured_at,
    account_type,
    environment,
    total_equity,
    cash,
    option_buying_power,
    day_trade_buying_power,
    pending_orders_count,
    pdt_qualified,
    run_id
FROM portfolio_snapshots
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY captured_at DESC) = 1
ORDER BY captured_at DESC, account_id;
