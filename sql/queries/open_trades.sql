-- Trades not closed or abandoned: what is planned, working or held right now.
SELECT * FROM open_trades ORDER BY session_date, account_id, setup_id;
