// The main menu (templates/base.html): groups are <details> disclosures, which open and
// close with the mouse, Enter and Space without this script. The script only adds what
// a menu bar is expected to do: one group open at a time, Escape closes the open group
// (focus back on its summary), a click elsewhere closes it, and on a wide screen the
// menu panel is open (for browsers that cannot open it by CSS, see style.css).
(function () {
  "use strict";
  var menu = document.querySelector(".nav-menu");
  if (!menu) { return; }
  var groups = Array.prototype.slice.call(menu.querySelectorAll(".nav-group > details"));
  var wide = window.matchMedia("(min-width: 48.01rem)");

  function openOnWideScreens() { if (wide.matches) { menu.open = true; } }
  openOnWideScreens();
  if (wide.addEventListener) { wide.addEventListener("change", openOnWideScreens); }

  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    groups.forEach(function (group) {
      if (group.open && group.contains(document.activeElement)) {
        group.open = false;
        group.querySelector("summary").focus();
      } else {
        group.open = false;
      }
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) {
      if (group.open && !group.contains(event.target)) { group.open = false; }
    });
  });
})();
