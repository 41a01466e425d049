#!/usr/bin/env bash
# The schema contract: Schemathesis with every check (`schemathesis run --checks all`, every
# phase, a fixed seed, --max-examples 10) against the API served by a live test server, as
# platform staff (jobs API), a tenant's staff (waitlist) and a customer (tickets). Fails on
# any mismatch between the OpenAPI schema and what the API accepts and answers. About four
# minutes on 2 cores; the whole Schemathesis output goes to var/test-logs/schema-contract.log.
#
#   scripts/schema-contract.sh                          # the contract and its regressions
#   CONTRACT_MAX_EXAMPLES=50 scripts/schema-contract.sh # deeper, slower
#
# Needs PostgreSQL and Redis like `make test` (started here if they are installed).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/test.sh tests/test_schema_contract.py "$@"
