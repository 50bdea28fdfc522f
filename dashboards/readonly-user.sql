-- Read-only ClickHouse access for Grafana (official grafana-clickhouse-datasource plugin).
-- Run once on the ClickHouse server as an administrator (clickhouse-client --multiquery < readonly-user.sql),
-- after replacing the password. The role sees only the aggregate report tables: no decision, message,
-- consent or subscriber rows, so no per-subscriber data reaches a dashboard. Database name: geotrigger
-- (CLICKHOUSE_DATABASE); change it below if yours differs.

CREATE ROLE IF NOT EXISTS geotrigger_dashboards;
GRANT SELECT ON geotrigger.report_hourly TO geotrigger_dashboards;
GRANT SELECT ON geotrigger.report_suppressed_hourly TO geotrigger_dashboards;
GRANT SELECT ON geotrigger.footfall TO geotrigger_dashboards;

-- readonly = 1 forbids writes and DDL; the plugin's client sets max_execution_time on each query, so that
-- one setting is allowed to change within bounds.
CREATE SETTINGS PROFILE IF NOT EXISTS geotrigger_dashboards_profile SETTINGS
  readonly = 1,
  max_execution_time = 30 MIN 1 MAX 60 CHANGEABLE_IN_READONLY,
  max_result_rows = 100000,
  max_memory_usage = 2000000000,
  max_concurrent_queries_for_user = 8;

CREATE USER IF NOT EXISTS grafana
  IDENTIFIED WITH sha256_password BY 'CHANGE-ME'
  SETTINGS PROFILE 'geotrigger_dashboards_profile'
  DEFAULT ROLE geotrigger_dashboards;
GRANT geotrigger_dashboards TO grafana;

-- A retailer's own Grafana: the same role, limited to its tenant's rows by row policies. Once a table has
-- any row policy, users without one see no rows, so the operator-wide user needs an allow-all policy too.
-- CREATE USER IF NOT EXISTS grafana_acme IDENTIFIED WITH sha256_password BY 'CHANGE-ME'
--   SETTINGS PROFILE 'geotrigger_dashboards_profile' DEFAULT ROLE geotrigger_dashboards;
-- GRANT geotrigger_dashboards TO grafana_acme;
-- CREATE ROW POLICY IF NOT EXISTS acme_only ON geotrigger.report_hourly FOR SELECT USING tenant = 'acme' TO grafana_acme;
-- CREATE ROW POLICY IF NOT EXISTS acme_only ON geotrigger.report_suppressed_hourly FOR SELECT USING tenant = 'acme' TO grafana_acme;
-- CREATE ROW POLICY IF NOT EXISTS acme_only ON geotrigger.footfall FOR SELECT USING tenant = 'acme' TO grafana_acme;
-- CREATE ROW POLICY IF NOT EXISTS all_rows ON geotrigger.report_hourly FOR SELECT USING 1 TO grafana;
-- CREATE ROW POLICY IF NOT EXISTS all_rows ON geotrigger.report_suppressed_hourly FOR SELECT USING 1 TO grafana;
-- CREATE ROW POLICY IF NOT EXISTS all_rows ON geotrigger.footfall FOR SELECT USING 1 TO grafana;
