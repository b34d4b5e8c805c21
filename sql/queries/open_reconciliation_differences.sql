-- What the latest reconciliation of each account could not explain: every status but matched.
-- `unknown` means the broker's report was missing: never read it as flat.
-- No parameters. Runs on the analyst copy (published runs only).
WITH latest_run AS (
    SELECT account_id, max(captured_at) AS captured_at
    FROM position_reconciliation
    GROUP BY account_id
)
SELECT r.account_id, r.option_symbol, r.status, r.expected_quantity, r.broker_quantity, r.reason, r.captured_at
FROM position_reconciliation AS r
JOIN latest_run USING (account_id, captured_at)
WHERE r.status <> 'matched'
ORDER BY r.status, r.account_id, r.option_symbol;
