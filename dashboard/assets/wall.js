/* 一网统管 wall, client side: the refresh clock and a quiet failure mode.
 *
 * yiwangWall.clock: each tick of the wall's dcc.Interval reports the browser's time (the tour stop
 * follows the wall clock, so the four screens of a 2×2 wall agree) and the viewport (figure
 * text scales with the screen) to the server's refresh (dashboard/wall.py).
 *
 * A wall runs unattended for days. When a refresh request fails (HTTP 5xx, server restarting,
 * network down) the Dash renderer logs it and keeps it in its error list, which grows by one
 * entry a minute for as long as the outage lasts. On a wall page such a failure is answered
 * as "204 No Content" instead, which the renderer treats as "nothing to update": the last
 * good frame stays and nothing accumulates. Other pages are untouched. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  // a namespace of its own: other assets replace the shared "yiwang" one as they load
  yiwangWall: {
    clock: function (n) {
      return { now: Date.now(), w: window.innerWidth, h: window.innerHeight, n: n || 0 };
    },
  },
});

(function () {
  var realFetch = window.fetch;
  if (!realFetch || realFetch.yiwangWall) {
    return;
  }
  var quiet = function () {
    return new Response(null, { status: 204, statusText: "No Content" });
  };
  var wrapped = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf("_dash-update-component") < 0 || !document.querySelector(".yw-wall")) {
      return realFetch.apply(this, arguments);
    }
    return realFetch.apply(this, arguments).then(
      function (response) {
        return response.status >= 500 ? quiet() : response;
      },
      function () {
        return quiet();
      }
    );
  };
  wrapped.yiwangWall = true;
  window.fetch = wrapped;
})();
