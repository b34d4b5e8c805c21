-- Buying power over time per account, with the change since that account's previous snapshot.
-- No parameters; add `WHERE account_id = ...` or a date filter. Runs on the analyst copy (published runs only).
SELECT
    account_id,
    captured_at,
    account_type,
    option_buying_power,
    option_buying_power
        - lag(option_buying_power) OVER (PARTITION BY account_id ORDER BY captured_at) AS option_buying_power_change,
    day_trade_buying_power,
    cash,
    total_equity,
    pdt_qualified
FROM portfolio_snapshots
ORDER BY account_id, captured_at;
