-- Realized P&L of closed round trips per setup (contracts closed by hand or at expiry are not priced).
SELECT * FROM pnl_by_setup ORDER BY realized_pnl DESC NULLS LAST, setup_id;
