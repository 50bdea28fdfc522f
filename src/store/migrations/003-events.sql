-- Event log. Time columns take ms since epoch (or a Date) on insert. Personal rows expire after
-- PERSONAL_DATA_TTL_DAYS ({{ttlDays}} days when this ran; the store re-applies the configured TTL at start-up).
--
-- decisions: one row per trigger evaluation.
--   ts DateTime64(3,'UTC'), sid String, tenant, campaign_id, fence_id, store_id (all LowCardinality(String)),
--   trigger LowCardinality(String)  'enter' | 'dwell' | 'exit' | 'followup'
--   outcome LowCardinality(String)  'sent' | 'suppressed' | 'holdout'
--   reason LowCardinality(String)   '' when sent; otherwise the suppression reason code (no_consent, cap_daily, quiet_hours, …)
--   message_id String ('' unless sent), dwell_ms UInt32
CREATE TABLE IF NOT EXISTS {{db}}.decisions (
  ts DateTime64(3, 'UTC'), sid String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  fence_id LowCardinality(String), store_id LowCardinality(String), trigger LowCardinality(String),
  outcome LowCardinality(String), reason LowCardinality(String), message_id String, dwell_ms UInt32
) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (campaign_id, ts)
TTL toDateTime(ts) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- messages: one row per SMS; re-inserted with a newer updated_at when its status changes (latest wins, FINAL).
--   message_id String, idempotency_key String (sid|campaign|trigger…), tenant, campaign_id, fence_id, store_id,
--   sid String, parts UInt8, encoding LowCardinality(String) ('GSM7' | 'UCS2'), sender String,
--   status LowCardinality(String) ('queued' | 'submitted' | 'delivered' | 'failed' | 'expired' | 'rejected' | 'unknown'),
--   smsc_message_id String, created_at DateTime64(3,'UTC'), submitted_at Nullable(DateTime64(3,'UTC')),
--   done_at Nullable(DateTime64(3,'UTC')), updated_at DateTime64(3,'UTC')
CREATE TABLE IF NOT EXISTS {{db}}.messages (
  message_id String, idempotency_key String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  fence_id LowCardinality(String), store_id LowCardinality(String), sid String, parts UInt8,
  encoding LowCardinality(String), sender String, status LowCardinality(String), smsc_message_id String,
  created_at DateTime64(3, 'UTC'), submitted_at Nullable(DateTime64(3, 'UTC')),
  done_at Nullable(DateTime64(3, 'UTC')), updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY message_id
TTL toDateTime(created_at) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- message_events: submit responses, every receipt state, errors. Reports count from here.
--   ts DateTime64(3,'UTC'), message_id String, tenant, campaign_id, store_id (LowCardinality(String)), sid String,
--   event LowCardinality(String)  'submitted' | 'submit_failed' | 'enroute' | 'delivered' | 'failed' | 'expired'
--                                 | 'rejected' | 'unknown'
--   parts UInt8 (set on 'submitted'), smsc_message_id String, error_code String, detail String
CREATE TABLE IF NOT EXISTS {{db}}.message_events (
  ts DateTime64(3, 'UTC'), message_id String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String), sid String, event LowCardinality(String), parts UInt8,
  smsc_message_id String, error_code String, detail String
) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (message_id, ts)
TTL toDateTime(ts) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- mo_messages: inbound replies (text is never stored).
--   ts DateTime64(3,'UTC'), mo_id String, sid String, short_code String, keyword LowCardinality(String) (normalised,
--   '' when none), action LowCardinality(String) ('opt_out' | 'help' | 'none'), tenant, campaign_id, store_id
--   (LowCardinality(String); the campaign the reply is attributed to, '' when unknown)
CREATE TABLE IF NOT EXISTS {{db}}.mo_messages (
  ts DateTime64(3, 'UTC'), mo_id String, sid String, short_code String, keyword LowCardinality(String),
  action LowCardinality(String), tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (ts, mo_id)
TTL toDateTime(ts) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- conversions: a purchase or promo-code redemption attributed to a campaign.
--   ts DateTime64(3,'UTC'), conversion_id String, tenant, campaign_id, store_id (LowCardinality(String)),
--   sid String ('' when only the promo code is known), promo_code String, value Float64,
--   currency LowCardinality(String), source LowCardinality(String) ('pos' | 'api' | 'import')
CREATE TABLE IF NOT EXISTS {{db}}.conversions (
  ts DateTime64(3, 'UTC'), conversion_id String, tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String), sid String, promo_code String, value Float64, currency LowCardinality(String),
  source LowCardinality(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (campaign_id, ts)
TTL toDateTime(ts) + INTERVAL {{ttlDays}} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- footfall: distinct subscribers per fence per hour. Writers insert visits into footfall_visits
--   (ts DateTime64(3,'UTC'), sid String, tenant, fence_id, store_id LowCardinality(String));
-- that table is a Null engine, so no (subscriber, place, time) row is ever stored: only the per-hour
-- distinct-count state in footfall survives. Read: SELECT hour, fence_id, uniqMerge(visitors) … GROUP BY.
CREATE TABLE IF NOT EXISTS {{db}}.footfall_visits (
  ts DateTime64(3, 'UTC'), sid String, tenant LowCardinality(String), fence_id LowCardinality(String),
  store_id LowCardinality(String)
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS {{db}}.footfall (
  hour DateTime('UTC'), tenant LowCardinality(String), fence_id LowCardinality(String),
  store_id LowCardinality(String), visitors AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree ORDER BY (tenant, store_id, fence_id, hour)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.footfall_mv TO {{db}}.footfall AS
SELECT toStartOfHour(ts) AS hour, tenant, fence_id, store_id, uniqState(sid) AS visitors
FROM {{db}}.footfall_visits GROUP BY hour, tenant, fence_id, store_id;
