-- Analyst views: created in the analyst copy (data/warehouse_analyst.duckdb) over its table views
-- whenever the catalog is built. Every view and every column is described (COMMENT ON), like the
-- warehouse tables. contract_recommendations keeps every run's rows, so these summarize runs.

CREATE VIEW recommendations_by_day AS
WITH newest AS (
    SELECT as_of_date, max_by(run_id, generated_at) AS last_run_id, max(generated_at) AS last_generated_at
    FROM contract_recommendations
    GROUP BY as_of_date
)
SELECT
    r.as_of_date,
    count(DISTINCT r.run_id)                                        AS runs,
    count(*) FILTER (WHERE NOT r.blocked)                           AS tradable_rows,
    count(*) FILTER (WHERE r.blocked)                               AS blocked_rows,
    n.last_run_id,
    n.last_generated_at,
    count(*) FILTER (WHERE r.run_id = n.last_run_id AND NOT r.blocked) AS last_run_tradable,
    count(*) FILTER (WHERE r.run_id = n.last_run_id AND r.blocked)     AS last_run_blocked
FROM contract_recommendations AS r
JOIN newest AS n USING (as_of_date)
GROUP BY r.as_of_date, n.last_run_id, n.last_generated_at;

COMMENT ON VIEW recommendations_by_day IS 'Tradable and blocked recommendations per trading day: over every run of the day, and in the day''s newest run.';
COMMENT ON COLUMN recommendations_by_day.as_of_date IS 'Trading day the recommendations are for.';
COMMENT ON COLUMN recommendations_by_day.runs IS 'Recommendation runs that day.';
COMMENT ON COLUMN recommendations_by_day.tradable_rows IS 'Tradable rows (at least one contract) over every run of the day.';
COMMENT ON COLUMN recommendations_by_day.blocked_rows IS 'Blocked rows over every run of the day.';
COMMENT ON COLUMN recommendations_by_day.last_run_id IS 'The day''s newest recommendation run (what stood last).';
COMMENT ON COLUMN recommendations_by_day.last_generated_at IS 'When the newest run generated its rows (UTC).';
COMMENT ON COLUMN recommendations_by_day.last_run_tradable IS 'Tradable rows of the day''s newest run.';
COMMENT ON COLUMN recommendations_by_day.last_run_blocked IS 'Blocked rows of the day''s newest run.';

CREATE VIEW blocked_reasons_by_day AS
SELECT
    as_of_date,
    coalesce(binding_constraint, 'unknown')     AS binding_constraint,
    count(*)                                    AS blocked_rows,
    count(DISTINCT run_id)                      AS runs,
    count(DISTINCT account_id)                  AS accounts,
    count(DISTINCT setup_id)                    AS setups,
    min(generated_at)                           AS first_blocked_at,
    max(generated_at)                           AS last_blocked_at,
    arg_max(blocked_reason, generated_at)       AS latest_reason
FROM contract_recommendations
WHERE blocked
GROUP BY as_of_date, coalesce(binding_constraint, 'unknown');

COMMENT ON VIEW blocked_reasons_by_day IS 'Why recommendations were blocked, per trading day and limit: how often, for how many accounts and setups, and the latest reason in words.';
COMMENT ON COLUMN blocked_reasons_by_day.as_of_date IS 'Trading day the recommendations are for.';
COMMENT ON COLUMN blocked_reasons_by_day.binding_constraint IS 'What blocked: the limit that sized to nothing (max_risk, buying_power...), no_contract, invalid_setup, stale_risk_context, slippage_guardrail or runner_stop (the stop-limit offset of a breakeven runner leaves no tick below the entry).';
COMMENT ON COLUMN blocked_reasons_by_day.blocked_rows IS 'Blocked rows over every run of the day.';
COMMENT ON COLUMN blocked_reasons_by_day.runs IS 'Runs that blocked for this reason that day.';
COMMENT ON COLUMN blocked_reasons_by_day.accounts IS 'Accounts blocked for this reason that day.';
COMMENT ON COLUMN blocked_reasons_by_day.setups IS 'Setups blocked for this reason that day.';
COMMENT ON COLUMN blocked_reasons_by_day.first_blocked_at IS 'First run of the day that blocked for this reason (UTC).';
COMMENT ON COLUMN blocked_reasons_by_day.last_blocked_at IS 'Last run of the day that blocked for this reason (UTC).';
COMMENT ON COLUMN blocked_reasons_by_day.latest_reason IS 'The newest blocked_reason sentence of this kind that day.';
