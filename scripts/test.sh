#!/usr/bin/env bash
# The test command behind `make test`. With CI=true, PostgreSQL and RabbitMQ must be reachable
# (the fixtures fail instead of skipping) and pytest's "no tests ran" (exit 5) is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export CIVICLOOM_TEST_POSTGRES_URL="${CIVICLOOM_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/postgres}"
export CIVICLOOM_TEST_AMQP_URL="${CIVICLOOM_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
# tests/conformance needs a running GovStack listener: `make conformance` runs it.
.venv/bin/pytest -p no:cacheprovider --ignore=tests/conformance "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$code"
