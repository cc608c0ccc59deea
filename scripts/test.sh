#!/usr/bin/env bash
# The test command behind `make test`. With CI=true, PostgreSQL and RabbitMQ must be reachable
# (the fixtures fail instead of skipping) and pytest's "no tests ran" (exit 5) is a failure.
#
# With arguments: one pytest run on them (`bash scripts/test.sh -q tests/unit`).
# Without (`make test`): one pytest process uses one core (the app under test runs in the test's
# own event loop), so the suite runs as two shares of its modules side by side (`--shard`,
# tests/conftest.py), each with its own session database and temporary directory; then
# tests/durability and tests/cluster, which kill processes against deadlines, run alone.
# CIVICLOOM_TEST_SERIAL=1 runs the whole suite in one process instead.
set -uo pipefail
cd "$(dirname "$0")/.."
export CIVICLOOM_TEST_POSTGRES_URL="${CIVICLOOM_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/postgres}"
export CIVICLOOM_TEST_AMQP_URL="${CIVICLOOM_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"

# tests/conformance needs a running GovStack listener: `make conformance` runs it.
pytest_run() {
  .venv/bin/pytest -p no:cacheprovider --ignore=tests/conformance "$@"
  local code=$?
  if [ "$code" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    return 1
  fi
  return "$code"
}

if [ "$#" -gt 0 ] || [ "${CIVICLOOM_TEST_SERIAL:-}" = "1" ]; then
  pytest_run "$@"
  exit $?
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/civicloom-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
alone=(tests/durability tests/cluster)
ignore_alone=(--ignore=tests/durability --ignore=tests/cluster)
started=$SECONDS

# The second share writes to a file, printed after the first share's own output.
pytest_run "${ignore_alone[@]}" --shard=1/2 --basetemp="$work/share1" >"$work/share1.log" 2>&1 &
second=$!
trap 'kill "$second" 2>/dev/null; rm -rf "$work"' EXIT
pytest_run "${ignore_alone[@]}" --shard=0/2 --basetemp="$work/share0"
first_code=$?
wait "$second"
second_code=$?
echo "===== second share of the modules (--shard=1/2) ====="
cat "$work/share1.log"
echo "===== both shares: $((SECONDS - started)) s; now ${alone[*]} alone ====="
pytest_run "${alone[@]}" --basetemp="$work/alone"
alone_code=$?
echo "===== whole suite: $((SECONDS - started)) s (shares: exit $first_code and $second_code; alone: exit $alone_code) ====="
for code in "$first_code" "$second_code" "$alone_code"; do
  if [ "$code" -ne 0 ]; then
    exit "$code"
  fi
done
exit 0
