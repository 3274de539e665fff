/* The top bar's menus (<details data-nav-group>): one open at a time; a tap elsewhere or Escape
   closes it. Without this script they still open and close on their own summary. */
(function () {
  "use strict";
  function groups() { return document.querySelectorAll("details[data-nav-group]"); }
  document.addEventListener("toggle", function (evt) {
    var opened = evt.target;
    if (!opened.matches || !opened.matches("details[data-nav-group]") || !opened.open) return;
    groups().forEach(function (d) { if (d !== opened) d.open = false; });
  }, true);
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("details[data-nav-group]")) return;
    groups().forEach(function (d) { d.open = false; });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") groups().forEach(function (d) { d.open = false; });
  });
})();
