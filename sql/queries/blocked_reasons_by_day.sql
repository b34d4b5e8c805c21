-- Why recommendations were blocked, per trading day and limit (the analyst view of the same name,
-- over every run of each day), most frequent first. No parameters. Runs on the analyst copy.
SELECT
    as_of_date,
    binding_constraint,
    blocked_rows,
    runs,
    accounts,
    setups,
    first_blocked_at,
    last_blocked_at,
    latest_reason
FROM blocked_reasons_by_day
ORDER BY as_of_date DESC, blocked_rows DESC, binding_constraint;
