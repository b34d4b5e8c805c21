-- Realized P&L of closed round trips per account.
SELECT * FROM pnl_by_account ORDER BY realized_pnl DESC NULLS LAST, account_id;
