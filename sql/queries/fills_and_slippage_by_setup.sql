-- Fills and their slippage per setup and leg (entry, t1, runner_stop): count, average and worst,
-- in ticks and dollars per contract (positive = adverse). The latest reading of each leg counts once.
-- No parameters; add `WHERE session_date >= ...` for a window. Runs on the analyst copy (published runs only).
WITH latest AS (
    SELECT *
    FROM execution_fidelity
    QUALIFY row_number() OVER (PARTITION BY ticket_id, order_id, broker_leg ORDER BY captured_at DESC) = 1
)
SELECT
    setup_id,
    leg,
    count(*) FILTER (WHERE filled_quantity > 0)                     AS fills,
    sum(filled_quantity)                                            AS contracts,
    round(avg(slippage_ticks), 2)                                   AS avg_slippage_ticks,
    round(quantile_cont(slippage_ticks, 0.9), 2)                    AS p90_slippage_ticks,
    round(avg(slippage_per_contract), 2)                            AS avg_slippage_dollars,
    max(slippage_per_contract)                                      AS worst_slippage_dollars,
    count(*) FILTER (WHERE match = 'inferred')                      AS inferred_matches
FROM latest
GROUP BY setup_id, leg
ORDER BY setup_id, leg;
