// Staff-survey management pages: copy the freshly issued link, print the code slips.
// Buttons start hidden and are shown only when this script runs.
(function () {
  "use strict";
  document.querySelectorAll(".js-copy").forEach(function (button) {
    var target = document.getElementById(button.dataset.copyTarget);
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value).then(function () {
        button.textContent = button.dataset.doneLabel || "✓";
      });
    });
  });
  document.querySelectorAll(".js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
