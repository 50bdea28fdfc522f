#!/bin/bash
# Creates the read-only `grafana` ClickHouse user of dashboards/readonly-user.sql, with the password from
# GRAFANA_CLICKHOUSE_PASSWORD in place of the file's CHANGE-ME placeholder (letters, digits, - and _ only).
# Run by the clickhouse-server image's entrypoint from /docker-entrypoint-initdb.d/ while the server is up
# on loopback; every statement is IF NOT EXISTS, so a re-run changes nothing.
set -euo pipefail
: "${GRAFANA_CLICKHOUSE_PASSWORD:?GRAFANA_CLICKHOUSE_PASSWORD is not set}"
if [[ ! "${GRAFANA_CLICKHOUSE_PASSWORD}" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "readonly-user.sh: GRAFANA_CLICKHOUSE_PASSWORD may hold only letters, digits, - and _" >&2
  exit 1
fi
sed "s/CHANGE-ME/${GRAFANA_CLICKHOUSE_PASSWORD}/g" /geotrigger/readonly-user.sql |
  clickhouse client --host 127.0.0.1 --user "${CLICKHOUSE_USER}" --password "${CLICKHOUSE_PASSWORD}" --multiquery
