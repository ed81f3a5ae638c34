#!/usr/bin/env bash
# it_deploy: the operator files in deploy/. Prometheus' own promtool checks
# the alert rules and runs their unit tests (tests/deploy/), and every metric
# the Grafana dashboard and the rules query is one a real `cellar serve`
# exposes (or, for fleet and S3 mode, one the code registers).
# Usage: bash deploy_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null || fail "promtool is not installed (scripts/install-deps.sh --with-test-tools)"

promtool check rules "$ROOT/deploy/prometheus-alerts.yml" || fail "promtool check rules"
(cd "$ROOT/tests/deploy" && promtool test rules prometheus-alerts.test.yml) || fail "promtool test rules"
pass "promtool accepts the alert rules, and each alert fires (and stays silent) on its test series"

start_cellar "$IT_TMP/data"
curl -s "$CELLAR_URL/metrics" >"$IT_TMP/metrics"
python3 "$(dirname "$0")/check_deploy_metrics.py" "$ROOT/deploy" "$IT_TMP/metrics" "$ROOT/src" ||
  fail "the dashboard or the rules use metrics cellar does not have"
pass "the Grafana dashboard and the alert rules query only metrics cellar exposes"
