-- decisions.trigger, outcome and reason become plain String (were LowCardinality(String)).
-- A LowCardinality column costs every insert a dictionary per block; these three hold a handful of
-- short values each, so plain String parses faster (embedded ClickHouse, 50 k-row CSV inserts, merges
-- stopped, 36 interleaved inserts per variant: 2.88 → 2.45 µs of process CPU per row, the same as Enum8,
-- which would reject any value outside its list and fail the whole insert). They cost ~1.5 B more per
-- row compressed. The report views read the same names and their tables keep LowCardinality columns.
-- Re-running is a no-op.
ALTER TABLE {{db}}.decisions MODIFY COLUMN trigger String, MODIFY COLUMN outcome String, MODIFY COLUMN reason String;
