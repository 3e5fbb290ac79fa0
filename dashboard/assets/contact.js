/* Contact reveal on the grid chief's worklist (dashboard/contact.py).
 *
 * A click on a "show contact" button POSTs to /contact/<request id> (same origin, the
 * session cookie) with the unit being looked at; the answer is put in beside the button
 * as text (textContent), never as HTML: it is what a citizen wrote.
 */
(function () {
  "use strict";

  function show(button, text) {
    var out = button.parentNode.querySelector(".yw-contact-full");
    if (out) {
      out.textContent = text;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".yw-contact-reveal") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var id = button.getAttribute("data-contact-request");
    var unit = button.getAttribute("data-unit-id");
    var failed = button.getAttribute("data-error") || "";
    button.disabled = true;
    fetch("/contact/" + encodeURIComponent(id), {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ unit: unit })
    })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(function (found) {
        var parts = [found.name, found.phone].filter(function (p) {
          return typeof p === "string" && p;
        });
        show(button, parts.join(" · "));
        if (typeof found.description === "string" && found.description) {
          var said = button.closest(".yw-grid-item");
          var line = said ? said.querySelector(".yw-contact-said") : null;
          if (line) {
            line.textContent = found.description;
          }
        }
      })
      .catch(function () {
        show(button, failed);
        button.disabled = false;
      });
  });
})();
