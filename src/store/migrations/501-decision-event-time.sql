-- decisions.event_ts: when the ping behind the evaluation was taken (event time; `ts` is when it was
-- decided). A restarted service reads (sid, fence_id, trigger, event_ts) of its last minutes of
-- decisions to drop the pings it re-reads from Kafka and had already decided (src/campaigns/replay.ts).
-- Rows written before this column existed read it as their decision time.
ALTER TABLE {{db}}.decisions ADD COLUMN IF NOT EXISTS event_ts DateTime64(3, 'UTC') DEFAULT ts AFTER ts;
