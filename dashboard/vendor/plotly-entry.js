'use strict';
// yiwang's plotly.js: the core (with scatter) and the three traces the cockpit draws.
// Built by build-plotly.sh into plotly-yiwang.min.js; see dashboard/plotly_bundle.py.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/scattermap'),
    require('plotly.js/lib/choroplethmap'),
]);

module.exports = Plotly;
