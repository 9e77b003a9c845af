#!/usr/bin/env bash
# Integration tests against real servers: system packages, the Go-built tools, then every *.integration.test.ts.
#
# Run through `npm run test:integration` so node_modules/.bin (the repo's Node 24) leads PATH.
# Env: NACRE_TOOLS_DIR (tool cache, default ~/.cache/nacre/tools), NACRE_BUILD_JOBS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/install-system-deps.sh
bash e2e/harness/build-tools.sh
exec node --test --test-concurrency=1 "e2e/**/*.integration.test.ts" "src/**/*.integration.test.ts"
