#!/usr/bin/env bash
# Regenerates tests/grafana/dashboard.schema.json, the JSON schema the
# dashboard test checks every dashboard against, from the `Dashboard` type
# in Grafana's npm package @grafana/schema (the classic dashboard JSON model
# that provisioning and UI import read). Needs node and npm (Debian: nodejs,
# npm) and the npm registry; the schema is committed, so the tests need
# neither.
set -euo pipefail
cd "$(dirname "$0")/.."
GRAFANA_SCHEMA_VERSION="${GRAFANA_SCHEMA_VERSION:-13.2.3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent \
        "@grafana/schema@$GRAFANA_SCHEMA_VERSION" ts-json-schema-generator@2.4.0)
(cd "$work" && npx ts-json-schema-generator \
    --path node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts \
    --type Dashboard --no-type-check --additional-properties \
    -o dashboard.schema.json)
cp "$work/dashboard.schema.json" tests/grafana/dashboard.schema.json
echo "tests/grafana/dashboard.schema.json from @grafana/schema $GRAFANA_SCHEMA_VERSION"
