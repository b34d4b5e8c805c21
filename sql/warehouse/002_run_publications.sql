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
