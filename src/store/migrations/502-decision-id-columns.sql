-- decisions.tenant and decisions.campaign_id become plain String (were LowCardinality(String)).
-- The table is sorted by (campaign_id, ts), so both columns compress to almost nothing either way
-- (1 M rows: 15 KB for the two together as LowCardinality, 147 KB as String, out of 21.7 MB), but a
-- LowCardinality sort key costs the insert a dictionary per block and a sort through it: embedded
-- ClickHouse took 17 % more decision rows per CPU-second with the two as String (bench/README.md,
-- store). fence_id and store_id stay LowCardinality (as String they would add 3.4 B a row). The report
-- views read the same names and their tables keep LowCardinality keys. Re-running is a no-op.
ALTER TABLE {{db}}.decisions MODIFY COLUMN tenant String, MODIFY COLUMN campaign_id String;
