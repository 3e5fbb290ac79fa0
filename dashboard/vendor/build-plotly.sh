#!/usr/bin/env bash
# Build plotly-yiwang.min.js: plotly.js's core with only the traces the cockpit draws
# (bar, scattermap, choroplethmap; scatter is in the core), built like plotly.js's own
# bundles (build-plotly.mjs), from the versions pinned in package-lock.json (plotly.js
# must equal the python plotly package's). `make demo` and `make test` run it when the
# bundle is missing or these files change (~50 s: npm ci from the npm registry, then
# esbuild); the output is the same bytes every time, and it is not committed.
# Without node and npm it only warns: the app then serves plotly's full bundle.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/plotly-yiwang.min.js"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build-plotly.sh: no node/npm; the dashboard will serve plotly's full bundle" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/plotly-entry.js" \
  "$here/build-plotly.mjs" "$work/"
cd "$work"
npm ci --no-audit --no-fund >/dev/null
node build-plotly.mjs plotly-entry.js "$work/out.js"
mv "$work/out.js" "$out"
