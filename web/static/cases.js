// Keyboard shortcuts on the case page: a decision's key (b ban, s suspend,
// r restrict, l label, d remove, n no violation) picks it and moves to the
// explanation; Ctrl+Enter (or Cmd+Enter) submits. Keys typed into a field
// are left alone.
(function () {
  "use strict";
  var form = document.getElementById("decision-form");
  if (!form) {
    return;
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" && t.type === "text" || t.tagName === "TEXTAREA");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      e.preventDefault();
      form.requestSubmit();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    var radio = form.querySelector('input[name="action"][data-key="' + e.key + '"]');
    if (radio) {
      e.preventDefault();
      radio.checked = true;
      document.getElementById("explanation").focus();
    }
  });
})();
