-- Which run's stage is published: what downstream assets and analysts read comes only from here.
-- A stage's rows and this record are committed in one transaction (the record is written last),
-- so a run that dies part-way leaves rows nobody reads, never half a run in view.
-- The analyst copy (Parquet per publication + a catalog of views) is exported from the same
-- transaction; `seq` orders publications (a later publication of a key wins).
CREATE TABLE IF NOT EXISTS run_publications (
    seq             BIGINT NOT NULL PRIMARY KEY,
    run_id          VARCHAR NOT NULL,            -- the run whose rows are published
    stage           VARCHAR NOT NULL,            -- portfolio_sync | market_data | recommendations | orders | adhoc_recommendations
    published_at    TIMESTAMPTZ NOT NULL,
    published_by    VARCHAR NOT NULL,            -- the run that published (differs when a later run repaired it)
    row_counts      JSON NOT NULL                -- {"table": rows, ...} as exported to the analyst copy
);

COMMENT ON TABLE run_publications IS 'Which run''s stage is published: downstream assets and analysts read only published rows.';
COMMENT ON COLUMN run_publications.seq IS 'Publication number; a later publication of the same key wins.';
COMMENT ON COLUMN run_publications.run_id IS 'The run whose rows are published.';
COMMENT ON COLUMN run_publications.stage IS 'portfolio_sync, market_data, recommendations, orders or adhoc_recommendations.';
COMMENT ON COLUMN run_publications.published_at IS 'When the stage was published (UTC).';
COMMENT ON COLUMN run_publications.published_by IS 'The run that published; differs from run_id when a later run repaired it.';
COMMENT ON COLUMN run_publications.row_counts IS 'Rows exported to the analyst copy per table, as JSON.';
