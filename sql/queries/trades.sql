-- Every trade as it stands now (highest version), newest session first: state, fills, risk, P&L.
SELECT trade_id, account_id, setup_id, session_date, state, close_reason, option_symbol,
       planned_quantity, filled_quantity, exited_quantity, entry_price, risk_committed, realized_pnl,
       updated_at
FROM current_trades
ORDER BY session_date DESC, account_id, setup_id;
