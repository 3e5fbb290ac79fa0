#!/usr/bin/env bash
# Rebuild plotly-yiwang.min.js: plotly.js's core with only the traces the cockpit draws
# (bar, scattermap, choroplethmap; scatter is in the core), built like plotly.js's own
# bundles (build-plotly.mjs). Run it after changing the traces the dashboard draws or the
# versions pinned in package.json (plotly.js must equal the python plotly package's), and
# commit the output. Needs node and npm at build time only: the app serves the file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/plotly-entry.js" "$here/build-plotly.mjs" "$work/"
cd "$work"
npm install --no-audit --no-fund >/dev/null
node build-plotly.mjs plotly-entry.js "$here/plotly-yiwang.min.js"
