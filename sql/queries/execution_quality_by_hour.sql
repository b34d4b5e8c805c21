-- Entry execution quality by hour of the New York session: fills, median slippage in ticks and
-- median seconds from ticket to fill. No parameters. Runs on the analyst copy (published runs only).
WITH latest AS (
    SELECT f.*, t.created_at AS ticketed_at
    FROM execution_fidelity AS f
    JOIN order_tickets AS t USING (ticket_id)
    QUALIFY row_number() OVER (PARTITION BY f.ticket_id, f.order_id, f.broker_leg ORDER BY f.captured_at DESC) = 1
)
SELECT
    hour(timezone('America/New_York', ticketed_at))   AS ny_hour,
    count(*) FILTER (WHERE filled_quantity > 0)       AS fills,
    round(median(slippage_ticks), 2)                  AS median_slippage_ticks,
    round(median(seconds_to_fill), 1)                 AS median_seconds_to_fill
FROM latest
WHERE leg = 'entry'
GROUP BY ny_hour
ORDER BY ny_hour;
