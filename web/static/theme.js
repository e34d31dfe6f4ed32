// Theme: light, dark or auto (follows prefers-color-scheme), kept in localStorage.
(function () {
  "use strict";
  var pref = localStorage.getItem("theme-preference") || "auto";
  var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-theme", pref === "auto" ? (dark ? "dark" : "light") : pref);
})();
