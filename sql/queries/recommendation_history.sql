-- Every recommendation run's rows, newest first, with the New York time each was generated: what
-- was recommended, or why it was blocked, at any moment ("why was it blocked at 10:00?").
-- No parameters; narrow it with e.g. `WHERE account_id = 'VA00000004' AND ny_time <= '10:00'`
-- before the ORDER BY. Runs on the analyst copy (published runs only).
SELECT
    as_of_date,
    strftime(timezone('America/New_York', generated_at), '%H:%M:%S') AS ny_time,
    account_id,
    setup_id,
    blocked,
    blocked_reason,
    binding_constraint,
    suggested_contracts,
    symbol,
    limit_price,
    sizing_reason,
    generated_at,
    run_id
FROM contract_recommendations
ORDER BY generated_at DESC, account_id, setup_id;
