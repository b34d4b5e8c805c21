-- Trade views: the app database's trades as the warehouse copies them (every version of every
-- trade), summarized for analysts. A trade's current state is its highest version.

CREATE VIEW current_trades AS
SELECT * EXCLUDE (run_id)
FROM trades
QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY version DESC) = 1;

COMMENT ON VIEW current_trades IS 'Each trade as it stands now (its highest version): one per account x setup x session.';
COMMENT ON COLUMN current_trades.trade_id IS 'Trade id: T<session>-<hash of session, account, setup>.';
COMMENT ON COLUMN current_trades.version IS 'Version of the trade (each change adds one).';
COMMENT ON COLUMN current_trades.account_id IS 'Broker account number.';
COMMENT ON COLUMN current_trades.setup_id IS 'Setup the trade was born from.';
COMMENT ON COLUMN current_trades.session_date IS 'Trading session (New York date) the trade was planned and entered in.';
COMMENT ON COLUMN current_trades.tag IS 'Base of every order tag of the trade.';
COMMENT ON COLUMN current_trades.state IS 'planned, entry_working, open, exits_working, t1_filled, runner, closed or abandoned.';
COMMENT ON COLUMN current_trades.option_symbol IS 'OCC option symbol traded (Tradier spelling).';
COMMENT ON COLUMN current_trades.expiration_date IS 'Expiration of the contract.';
COMMENT ON COLUMN current_trades.planned_quantity IS 'Contracts the entry asked for.';
COMMENT ON COLUMN current_trades.limit_price IS 'Entry limit, dollars per share of premium.';
COMMENT ON COLUMN current_trades.stop_price IS 'Protective sell-stop trigger; NULL when the setup has no stop.';
COMMENT ON COLUMN current_trades.t1_price IS 'T1 target limit.';
COMMENT ON COLUMN current_trades.t1_fraction IS 'Share of the filled contracts the T1 target takes.';
COMMENT ON COLUMN current_trades.runner_stop_limit_offset IS 'Stop-limit offset of the stops; NULL for plain stops.';
COMMENT ON COLUMN current_trades.risk_per_contract IS 'Dollars of risk per contract sizing counted (fee and expected slippage included).';
COMMENT ON COLUMN current_trades.cost_per_contract IS 'Dollars per contract sizing counted against buying power.';
COMMENT ON COLUMN current_trades.pdt_qualified IS 'Whether the account was PDT-qualified when the trade was planned; NULL for cash accounts.';
COMMENT ON COLUMN current_trades.risk_fingerprint IS 'Risk-context fingerprint of the recommendation the plan came from.';
COMMENT ON COLUMN current_trades.recommendation_run_id IS 'Recommendations run the plan came from.';
COMMENT ON COLUMN current_trades.blocked_reason IS 'Why a planned trade cannot be placed now; NULL when placeable.';
COMMENT ON COLUMN current_trades.close_reason IS 'target, stop, manual or expired; NULL until closed.';
COMMENT ON COLUMN current_trades.filled_quantity IS 'Contracts the entry bought.';
COMMENT ON COLUMN current_trades.exited_quantity IS 'Contracts our exits sold.';
COMMENT ON COLUMN current_trades.entry_price IS 'Average entry fill price.';
COMMENT ON COLUMN current_trades.realized_pnl IS 'Dollars made on the contracts our exits closed, less $0.65 per contract per fill; NULL before the first exit fill.';
COMMENT ON COLUMN current_trades.risk_committed IS 'Risk the trade takes from the account''s daily budget.';
COMMENT ON COLUMN current_trades.entry_sent_at IS 'When the entry was claimed for sending (UTC).';
COMMENT ON COLUMN current_trades.created_at IS 'When the trade was planned (UTC).';
COMMENT ON COLUMN current_trades.updated_at IS 'When it last changed (UTC).';
COMMENT ON COLUMN current_trades.closed_at IS 'When it reached closed or abandoned (UTC).';

CREATE VIEW open_trades AS
SELECT trade_id, account_id, setup_id, session_date, state, option_symbol, expiration_date,
       planned_quantity, filled_quantity, exited_quantity, filled_quantity - exited_quantity AS held_quantity,
       entry_price, stop_price, t1_price, risk_committed, realized_pnl, updated_at
FROM current_trades
WHERE state NOT IN ('closed', 'abandoned');

COMMENT ON VIEW open_trades IS 'Trades not closed or abandoned yet: planned, working, or holding contracts.';
COMMENT ON COLUMN open_trades.trade_id IS 'Trade id.';
COMMENT ON COLUMN open_trades.account_id IS 'Broker account number.';
COMMENT ON COLUMN open_trades.setup_id IS 'Setup of the trade.';
COMMENT ON COLUMN open_trades.session_date IS 'Session the trade was entered in.';
COMMENT ON COLUMN open_trades.state IS 'planned, entry_working, open, exits_working, t1_filled or runner.';
COMMENT ON COLUMN open_trades.option_symbol IS 'Contract held or ordered.';
COMMENT ON COLUMN open_trades.expiration_date IS 'Expiration of the contract.';
COMMENT ON COLUMN open_trades.planned_quantity IS 'Contracts the entry asked for.';
COMMENT ON COLUMN open_trades.filled_quantity IS 'Contracts the entry bought so far.';
COMMENT ON COLUMN open_trades.exited_quantity IS 'Contracts our exits sold so far.';
COMMENT ON COLUMN open_trades.held_quantity IS 'Contracts held now (filled less exited).';
COMMENT ON COLUMN open_trades.entry_price IS 'Average entry fill price.';
COMMENT ON COLUMN open_trades.stop_price IS 'Protective stop trigger; NULL without a stop plan.';
COMMENT ON COLUMN open_trades.t1_price IS 'T1 target.';
COMMENT ON COLUMN open_trades.risk_committed IS 'Risk the trade takes from the daily budget, dollars.';
COMMENT ON COLUMN open_trades.realized_pnl IS 'Realized P&L of what our exits closed so far, dollars.';
COMMENT ON COLUMN open_trades.updated_at IS 'When the trade last changed (UTC).';

CREATE VIEW pnl_by_setup AS
SELECT setup_id,
       count(*)                                                 AS closed_trades,
       count(*) FILTER (WHERE realized_pnl > 0)                 AS winners,
       count(*) FILTER (WHERE realized_pnl <= 0)                AS losers,
       sum(realized_pnl)                                        AS realized_pnl,
       avg(realized_pnl)                                        AS avg_pnl_per_trade,
       sum(risk_committed)                                      AS risk_taken,
       min(session_date)                                        AS first_session,
       max(session_date)                                        AS last_session
FROM current_trades
WHERE state = 'closed'
GROUP BY setup_id;

COMMENT ON VIEW pnl_by_setup IS 'Realized P&L of closed round trips per setup, over every session.';
COMMENT ON COLUMN pnl_by_setup.setup_id IS 'Setup.';
COMMENT ON COLUMN pnl_by_setup.closed_trades IS 'Closed trades (round trips).';
COMMENT ON COLUMN pnl_by_setup.winners IS 'Closed trades with a positive realized P&L.';
COMMENT ON COLUMN pnl_by_setup.losers IS 'Closed trades with zero or negative realized P&L.';
COMMENT ON COLUMN pnl_by_setup.realized_pnl IS 'Sum of realized P&L, dollars (contracts closed by hand or at expiry are not priced).';
COMMENT ON COLUMN pnl_by_setup.avg_pnl_per_trade IS 'Average realized P&L per closed trade, dollars.';
COMMENT ON COLUMN pnl_by_setup.risk_taken IS 'Sum of the risk the trades committed, dollars.';
COMMENT ON COLUMN pnl_by_setup.first_session IS 'First session with a closed trade of the setup.';
COMMENT ON COLUMN pnl_by_setup.last_session IS 'Last session with a closed trade of the setup.';

CREATE VIEW pnl_by_account AS
SELECT account_id,
       count(*)                                                 AS closed_trades,
       count(*) FILTER (WHERE realized_pnl > 0)                 AS winners,
       count(*) FILTER (WHERE realized_pnl <= 0)                AS losers,
       sum(realized_pnl)                                        AS realized_pnl,
       avg(realized_pnl)                                        AS avg_pnl_per_trade,
       sum(risk_committed)                                      AS risk_taken,
       min(session_date)                                        AS first_session,
       max(session_date)                                        AS last_session
FROM current_trades
WHERE state = 'closed'
GROUP BY account_id;

COMMENT ON VIEW pnl_by_account IS 'Realized P&L of closed round trips per account, over every session.';
COMMENT ON COLUMN pnl_by_account.account_id IS 'Broker account number.';
COMMENT ON COLUMN pnl_by_account.closed_trades IS 'Closed trades (round trips).';
COMMENT ON COLUMN pnl_by_account.winners IS 'Closed trades with a positive realized P&L.';
COMMENT ON COLUMN pnl_by_account.losers IS 'Closed trades with zero or negative realized P&L.';
COMMENT ON COLUMN pnl_by_account.realized_pnl IS 'Sum of realized P&L, dollars.';
COMMENT ON COLUMN pnl_by_account.avg_pnl_per_trade IS 'Average realized P&L per closed trade, dollars.';
COMMENT ON COLUMN pnl_by_account.risk_taken IS 'Sum of the risk the trades committed, dollars.';
COMMENT ON COLUMN pnl_by_account.first_session IS 'First session with a closed trade of the account.';
COMMENT ON COLUMN pnl_by_account.last_session IS 'Last session with a closed trade of the account.';

CREATE VIEW equity_by_account AS
SELECT account_id, captured_at, timezone('America/New_York', captured_at)::DATE AS session_date,
       account_type, total_equity, option_buying_power, pdt_qualified
FROM portfolio_snapshots;

COMMENT ON VIEW equity_by_account IS 'Each account''s equity over time: one row per snapshot the portfolio sync took.';
COMMENT ON COLUMN equity_by_account.account_id IS 'Broker account number.';
COMMENT ON COLUMN equity_by_account.captured_at IS 'When the snapshot was taken (UTC).';
COMMENT ON COLUMN equity_by_account.session_date IS 'New York date of the snapshot.';
COMMENT ON COLUMN equity_by_account.account_type IS 'margin, cash or pdt.';
COMMENT ON COLUMN equity_by_account.total_equity IS 'Total account equity, dollars.';
COMMENT ON COLUMN equity_by_account.option_buying_power IS 'Option buying power (cash available for cash accounts), dollars.';
COMMENT ON COLUMN equity_by_account.pdt_qualified IS 'Margin or pdt account with at least $25,000 of equity.';
