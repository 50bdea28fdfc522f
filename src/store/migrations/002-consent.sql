-- consent: the latest row per (sid, channel) is the subscriber's current marketing consent.
--   sid String                  subscriber pseudonym
--   channel LowCardinality(String)   'sms'
--   status LowCardinality(String)    'opt_in' | 'opt_out'
--   source LowCardinality(String)    'api' | 'import' | 'sms_keyword' | 'demo' | …
--   evidence String             how consent was obtained / the opt-out keyword and MO id (JSON or text)
--   ts DateTime64(3, 'UTC')     when it took effect (ms since epoch on insert); the latest ts wins
-- Kept without TTL: consent evidence must outlive the decisions it allowed.
CREATE TABLE IF NOT EXISTS {{db}}.consent (
  sid String, channel LowCardinality(String), status LowCardinality(String), source LowCardinality(String),
  evidence String, ts DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ts) ORDER BY (sid, channel)
SETTINGS non_replicated_deduplication_window = 10000;
