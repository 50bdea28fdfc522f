-- report_suppressed_hourly is fed per (tenant, campaign, hour, reason), no longer per store: new rows
-- carry store_id = ''. Nothing reads that table per store (the report API's suppressionReasons and the
-- Grafana panel group by campaign, bucket and reason only), and the per-store split made it the
-- largest cost of an insert into `decisions`: in live order a 50 k-row batch covers ~2 000 (campaign,
-- store) cells, and the per-store view wrote ~10 500 suppressed rows per insert (one per store and
-- reason, hardly aggregated) into a new part that background merges then rewrote again and again;
-- per campaign it writes ~1 200 (bench/README.md, store). Rows written before this migration keep
-- their store_id; sum(n) and uniqMerge(subscribers) over a campaign read old and new rows alike (the
-- uniq states of one subscriber set merge to the same count however they were split).
-- Re-running is safe: the old view is dropped if it still exists, the new one created if missing.
DROP VIEW IF EXISTS {{db}}.report_suppressed_hourly_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_suppressed_campaign_hourly_mv TO {{db}}.report_suppressed_hourly AS
SELECT toStartOfHour(ts) AS hour, tenant, campaign_id, '' AS store_id, reason, count() AS n, uniqState(sid) AS subscribers
FROM {{db}}.decisions WHERE outcome = 'suppressed' GROUP BY hour, tenant, campaign_id, reason;
