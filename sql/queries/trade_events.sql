-- Each trade's history: every change with its reason and time, newest trades first.
SELECT e.trade_id, t.account_id, t.setup_id, e.seq, e.occurred_at, e.from_state, e.to_state, e.reason,
       e.filled_quantity, e.position, e.realized_pnl
FROM trade_events AS e
JOIN current_trades AS t USING (trade_id)
ORDER BY t.session_date DESC, e.trade_id, e.seq;
