-- The setups as the newest pipeline run copied them from the app database: stop, T1 target and
-- split, runner stop-limit offset and priority (lower is sized first). No parameters.
-- Runs on the analyst copy (published runs only); every run's copy is in spx_setups.
SELECT
    setup_id,
    label,
    status,
    direction,
    target_delta,
    stop_premium,
    round(t1_gain_pct * 100, 2)  AS t1_gain_percent,
    round(t1_fraction * 100, 2)  AS t1_sold_percent,
    runner_stop_limit_offset,
    priority,
    updated_at,
    captured_at,
    run_id
FROM spx_setups
WHERE run_id = (SELECT max_by(run_id, captured_at) FROM spx_setups)
ORDER BY priority, setup_id;
