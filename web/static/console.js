// Warden console behaviour. Loaded by every page (web/templates/layout.html);
// the Content-Security-Policy allows no inline script, so it all lives here.
(function () {
  "use strict";

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // Every htmx request carries the session's CSRF token; the server checks
  // it on anything that changes state (web.Console.Page).
  document.addEventListener("htmx:configRequest", function (e) {
    var tok = csrfToken();
    if (tok) {
      e.detail.headers["X-CSRF-Token"] = tok;
    }
  });

  // A tab in the background does not poll: each poll costs the server a
  // session lookup and a render, and nobody is looking. Nor does a view the
  // reader paused (a pause button, below) to read a row before it scrolls
  // away. The first poll after either brings the view up to date.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    var trigger = elt.getAttribute("hx-trigger") || "";
    if (trigger.indexOf("every ") === 0 && (document.hidden || elt.hasAttribute("data-paused"))) {
      e.preventDefault();
    }
  });

  // <button type="button" data-pause="ID" aria-pressed="false">Pause updates</button>
  // pauses and resumes the polling of the element with id ID.
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button[data-pause]") : null;
    var target = b && document.getElementById(b.getAttribute("data-pause"));
    if (!target) {
      return;
    }
    var paused = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", paused ? "true" : "false");
    if (paused) {
      target.setAttribute("data-paused", "");
    } else {
      target.removeAttribute("data-paused");
    }
  });

  // htmx does not swap error responses. The console answers htmx errors with
  // a plain-text message; show it in the alert region, as text, never HTML.
  var alertBox = null;
  function showError(msg) {
    alertBox = alertBox || document.getElementById("console-error");
    if (!alertBox) {
      return;
    }
    alertBox.textContent = msg;
    alertBox.hidden = false;
  }
  function clearError() {
    alertBox = alertBox || document.getElementById("console-error");
    if (alertBox && !alertBox.hidden) {
      alertBox.hidden = true;
      alertBox.textContent = "";
    }
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    var text = (xhr && xhr.responseText) ? xhr.responseText.trim() : "";
    showError(text || ("The server answered " + (xhr ? xhr.status : "an error") + "."));
  });
  document.addEventListener("htmx:sendError", function () {
    showError("Cannot reach Warden. Retrying…");
  });
  document.addEventListener("htmx:afterSwap", clearError);
})();
