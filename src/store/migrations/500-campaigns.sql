-- Campaigns, consent and decisions (issue 7).
--
-- decisions.parts: SMS parts of a sent decision (0 otherwise), so per-campaign budgets are rebuilt
-- from the decisions table alone after a restart.
ALTER TABLE {{db}}.decisions ADD COLUMN IF NOT EXISTS parts UInt8 DEFAULT 0;

-- promo_codes: one row per issued code; conversions are attributed through it.
--   code String, sid String, tenant, campaign_id, store_id LowCardinality(String), message_id String,
--   issued_at DateTime64(3,'UTC')
CREATE TABLE IF NOT EXISTS {{db}}.promo_codes (
  code String, sid String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String), message_id String, issued_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(issued_at) ORDER BY code
TTL toDateTime(issued_at) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- followups: scheduled follow-up steps; re-inserted with a newer updated_at on every change (latest wins, FINAL).
--   id String (origin idempotency key + '#' + step), sid String, tenant, campaign_id, fence_id, store_id,
--   step UInt8 (1-based), origin_key String, due_at DateTime64(3,'UTC'),
--   status LowCardinality(String) ('pending' | 'sent' | 'cancelled'), reason LowCardinality(String)
--   ('' | 'converted' | 'opted_out' | 'brand_declined' | 'campaign_ended' | …), updated_at DateTime64(3,'UTC')
CREATE TABLE IF NOT EXISTS {{db}}.followups (
  id String, sid String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  fence_id LowCardinality(String), store_id LowCardinality(String), step UInt8, origin_key String,
  due_at DateTime64(3, 'UTC'), status LowCardinality(String), reason LowCardinality(String),
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY id
TTL toDateTime(updated_at) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- brand_declines: a reply word declined one retailer's offers until `until`.
--   sid String, tenant LowCardinality(String), campaign_id LowCardinality(String), keyword String,
--   ts DateTime64(3,'UTC'), until DateTime64(3,'UTC')
-- Kept without TTL, like consent: it is consent evidence.
CREATE TABLE IF NOT EXISTS {{db}}.brand_declines (
  sid String, tenant LowCardinality(String), campaign_id LowCardinality(String), keyword String,
  ts DateTime64(3, 'UTC'), until DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ts) ORDER BY (sid, tenant)
SETTINGS non_replicated_deduplication_window = 10000;
