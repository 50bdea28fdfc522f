-- report_hourly: what dashboards and the report API read, per (tenant, campaign, store, hour).
--   hour DateTime('UTC'), tenant, campaign_id, store_id LowCardinality(String)
--   triggers, sent, suppressed, holdout   from decisions
--   submitted, parts, delivered, failed, expired   from message_events (parts summed over 'submitted')
--   opt_outs                              from mo_messages (action = 'opt_out')
--   conversions, conversion_value         from conversions
--   subscribers AggregateFunction(uniq, String): distinct subscribers behind the cell (for k-suppression)
-- Counters are SimpleAggregateFunction(sum, …): read them with sum(), subscribers with uniqMerge().
CREATE TABLE IF NOT EXISTS {{db}}.report_hourly (
  hour DateTime('UTC'), tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String),
  triggers SimpleAggregateFunction(sum, UInt64), sent SimpleAggregateFunction(sum, UInt64),
  suppressed SimpleAggregateFunction(sum, UInt64), holdout SimpleAggregateFunction(sum, UInt64),
  submitted SimpleAggregateFunction(sum, UInt64), parts SimpleAggregateFunction(sum, UInt64),
  delivered SimpleAggregateFunction(sum, UInt64), failed SimpleAggregateFunction(sum, UInt64),
  expired SimpleAggregateFunction(sum, UInt64), opt_outs SimpleAggregateFunction(sum, UInt64),
  conversions SimpleAggregateFunction(sum, UInt64), conversion_value SimpleAggregateFunction(sum, Float64),
  subscribers AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree ORDER BY (tenant, campaign_id, store_id, hour)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_hourly_decisions_mv TO {{db}}.report_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, store_id,
  count() AS triggers, countIf(outcome = 'sent') AS sent, countIf(outcome = 'suppressed') AS suppressed,
  countIf(outcome = 'holdout') AS holdout, uniqState(sid) AS subscribers
FROM {{db}}.decisions GROUP BY hour, tenant, campaign_id, store_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_hourly_message_events_mv TO {{db}}.report_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, store_id,
  countIf(event = 'submitted') AS submitted, sumIf(toUInt64(parts), event = 'submitted') AS parts,
  countIf(event = 'delivered') AS delivered, countIf(event IN ('failed', 'rejected')) AS failed,
  countIf(event = 'expired') AS expired, uniqState(sid) AS subscribers
FROM {{db}}.message_events GROUP BY hour, tenant, campaign_id, store_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_hourly_mo_mv TO {{db}}.report_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, store_id,
  countIf(action = 'opt_out') AS opt_outs, uniqState(sid) AS subscribers
FROM {{db}}.mo_messages WHERE campaign_id != '' GROUP BY hour, tenant, campaign_id, store_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_hourly_conversions_mv TO {{db}}.report_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, store_id,
  count() AS conversions, sum(value) AS conversion_value, uniqIfState(sid, sid != '') AS subscribers
FROM {{db}}.conversions GROUP BY hour, tenant, campaign_id, store_id;

-- report_suppressed_hourly: suppressed decisions by reason, per (tenant, campaign, store, hour, reason).
--   n SimpleAggregateFunction(sum, UInt64), subscribers AggregateFunction(uniq, String)
CREATE TABLE IF NOT EXISTS {{db}}.report_suppressed_hourly (
  hour DateTime('UTC'), tenant LowCardinality(String), campaign_id LowCardinality(String),
  store_id LowCardinality(String), reason LowCardinality(String), n SimpleAggregateFunction(sum, UInt64),
  subscribers AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree ORDER BY (tenant, campaign_id, store_id, hour, reason)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_suppressed_hourly_mv TO {{db}}.report_suppressed_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, store_id, reason, count() AS n, uniqState(sid) AS subscribers
FROM {{db}}.decisions WHERE outcome = 'suppressed' GROUP BY hour, tenant, campaign_id, store_id, reason;
