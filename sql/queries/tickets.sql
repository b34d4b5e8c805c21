-- The order tickets of one session: each leg with its symbol, side, size and prices, as the
-- newest tickets run built them. The latest session present by default; for another one change
-- the session line to e.g. `SELECT DATE '2026-12-01' AS as_of_date`. Runs on the analyst copy.
WITH session AS (
    SELECT max(as_of_date) AS as_of_date FROM order_tickets
)
SELECT
    t.as_of_date,
    t.ticket_id,
    t.setup_id,
    t.account_id,
    t.leg,
    t.option_symbol,
    t.side,
    t.order_type,
    t.quantity,
    t.price,
    t.stop_price,
    t.preview_status,
    t.tag
FROM order_tickets AS t
JOIN session USING (as_of_date)
ORDER BY t.account_id, t.setup_id,
    CASE t.leg WHEN 'entry' THEN 0 WHEN 't1' THEN 1 ELSE 2 END, t.ticket_id;
