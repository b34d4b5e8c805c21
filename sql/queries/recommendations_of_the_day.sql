-- Scheduled contract recommendations of the latest day present (not CURRENT_DATE, so it also works
-- on demo data any day): the rows of that day's newest recommendation run. Earlier runs' rows are
-- kept: see recommendation_history.
WITH latest_run AS (
    SELECT max_by(run_id, generated_at) AS run_id
    FROM contract_recommendations
    WHERE as_of_date = (SELECT max(as_of_date) FROM contract_recommendations)
)
SELECT
    r.as_of_date,
    r.account_id,
    r.setup_id,
    r.direction,
    r.symbol,
    r.expiration_date,
    r.strike,
    r.option_type,
    r.delta,
    r.bid,
    r.ask,
    r.limit_price,
    r.suggested_contracts,
    r.suggested_cost,
    r.binding_constraint,
    r.blocked,
    r.blocked_reason,
    r.sizing_reason,
    r.risk_fingerprint,
    r.generated_at,
    r.run_id
FROM contract_recommendations AS r
JOIN latest_run USING (run_id)
ORDER BY r.account_id, r.setup_id;
