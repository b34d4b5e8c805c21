-- Scheduled contract recommendations of the latest day present (not CURRENT_DATE, so it also works
-- on demo data any day), keeping only the latest generation per setup and account.
WITH latest_day AS (
    SELECT max(as_of_date) AS as_of_date FROM contract_recommendations
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
JOIN latest_day AS d ON r.as_of_date = d.as_of_date
QUALIFY row_number() OVER (PARTITION BY r.setup_id, r.account_id ORDER BY r.generated_at DESC) = 1
ORDER BY r.account_id, r.setup_id;
