#!/usr/bin/env bash
# Builds the C test helpers (called by .ci/run). Needs gcc, pkg-config and librdkafka-dev.
set -euo pipefail
cd "$(dirname "$0")"
gcc -O2 -Wall -Wextra -o kafka-mock/kafka-mock kafka-mock/kafka-mock.c $(pkg-config --cflags --libs rdkafka)
