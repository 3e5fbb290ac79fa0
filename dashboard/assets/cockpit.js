/* 一网统管 cockpit, client side: fit the heatmap to its unit on the actual screen.
 *
 * The server picks a first view for a 1920×1080 wall; phones and laptops need another zoom.
 * Once plotly has drawn the figure (its layout.meta.bbox names the unit's box), MapLibre's
 * fitBounds frames the unit for whatever size the map really has. No network involved. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  yiwang: {
    fitMap: function (figure, graphId) {
      var meta = figure && figure.layout && figure.layout.meta;
      var bbox = meta && meta.bbox;
      if (!bbox) {
        return window.dash_clientside.no_update;
      }
      var key = bbox.join(",");
      var tries = 0;
      var fit = function () {
        var host = document.getElementById(graphId);
        var gd = host && host.querySelector(".js-plotly-plot");
        var shown = gd && gd.layout && gd.layout.meta && gd.layout.meta.bbox;
        var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
        // Wait until plotly has applied *this* figure (a reused graph may still show the last).
        if (!sub || !sub.map || !shown || shown.join(",") !== key || !sub.map.loaded()) {
          if (tries++ < 100) {
            setTimeout(fit, 50);
          }
          return;
        }
        if (gd.dataset.fitted !== key) {
          sub.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], {
            padding: Math.min(32, host.clientWidth / 20),
            animate: false,
          });
          gd.dataset.fitted = key;
        }
      };
      fit();
      return key;
    },

    /* The worry view's month: new colours and hovers for the cells, new hotspot markers.
     * Restyling keeps the polygons MapLibre already holds (a new figure would re-send and
     * re-diff them). */
    recolourMap: function (frame, graphId) {
      var host = document.getElementById(graphId);
      var gd = host && host.querySelector(".js-plotly-plot");
      if (!frame || !gd || !window.Plotly) {
        return window.dash_clientside.no_update;
      }
      var cells = frame.traces[0];
      var marks = frame.traces[1];
      window.Plotly.restyle(
        gd,
        { z: [frame.cells.z], customdata: [frame.cells.customdata] },
        [cells]
      );
      window.Plotly.restyle(
        gd,
        {
          lon: [frame.marks.lon],
          lat: [frame.marks.lat],
          "marker.size": [frame.marks.marker.size],
          "marker.color": [frame.marks.marker.color],
          hovertext: [frame.marks.hovertext],
        },
        [marks]
      );
      return frame.cells.z.length;
    },
  },
});
