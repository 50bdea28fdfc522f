-- Definitions: geofences, segments, campaigns, api_keys, policy. One shape for all five:
--   id String            object id (unique within the table)
--   tenant String        owning tenant ('' for operator-wide objects such as policy)
--   version UInt64       1, 2, 3, … per id; the row with the highest version is the current one
--   deleted UInt8        1 = soft-deleted at this version
--   body String          the object as JSON
--   updated_at DateTime64(3, 'UTC')   when this version was written (ms since epoch on insert)
--   updated_by String    actor (API key id, 'catalogue', 'system')
-- Read the latest version with FINAL (ReplacingMergeTree keeps the highest version per id).
CREATE TABLE IF NOT EXISTS {{db}}.geofences (
  id String, tenant LowCardinality(String), version UInt64, deleted UInt8, body String,
  updated_at DateTime64(3, 'UTC'), updated_by String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS {{db}}.segments AS {{db}}.geofences;
CREATE TABLE IF NOT EXISTS {{db}}.campaigns AS {{db}}.geofences;
CREATE TABLE IF NOT EXISTS {{db}}.api_keys AS {{db}}.geofences;
CREATE TABLE IF NOT EXISTS {{db}}.policy AS {{db}}.geofences;

-- audit_log: one row per definition change.
--   ts DateTime64(3, 'UTC'), entity LowCardinality(String) (table name), entity_id String, tenant String,
--   action LowCardinality(String) ('create' | 'update' | 'delete'), actor String,
--   version_before UInt64 (0 = did not exist), version_after UInt64, body String (JSON after the change; '' on delete)
CREATE TABLE IF NOT EXISTS {{db}}.audit_log (
  ts DateTime64(3, 'UTC'), entity LowCardinality(String), entity_id String, tenant LowCardinality(String),
  action LowCardinality(String), actor String, version_before UInt64, version_after UInt64, body String
) ENGINE = MergeTree ORDER BY (entity, entity_id, ts)
SETTINGS non_replicated_deduplication_window = 10000;
