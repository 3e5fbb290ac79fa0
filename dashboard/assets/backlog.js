/* 一网统管 cockpit, client side: the backlog playback's frames.
 *
 * A frame (one moment) carries the cells' colours and hovers and the total chart's cursor.
 * Plotly.restyle changes only those arrays: the cell polygons MapLibre already holds are
 * never sent or parsed again (a new figure, or a Dash Patch of it, would re-diff the map's
 * inline style, which MapLibre refuses). No network involved. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  yiwangBacklog: {
    recolour: function (frame, mapId, chartId) {
      var plot = function (id) {
        var host = document.getElementById(id);
        return host && host.querySelector(".js-plotly-plot");
      };
      var map = plot(mapId);
      var chart = plot(chartId);
      if (!frame || !map || !window.Plotly) {
        return window.dash_clientside.no_update;
      }
      window.Plotly.restyle(
        map,
        { z: [frame.cells.z], customdata: [frame.cells.customdata] },
        [frame.trace]
      );
      if (chart) {
        window.Plotly.restyle(chart, { x: frame.cursor.x, y: frame.cursor.y }, frame.cursor_traces);
      }
      // Read by the browser test: how many frames this page applied in place.
      map.dataset.frames = String(Number(map.dataset.frames || 0) + 1);
      return frame.cells.z.length;
    },
  },
});
