-- Each account's equity over time, one row per portfolio snapshot (the equity curve's points).
SELECT account_id, captured_at, session_date, total_equity, option_buying_power
FROM equity_by_account
ORDER BY account_id, captured_at;
