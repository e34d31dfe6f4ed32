// Theme: light, dark or auto (auto follows prefers-color-scheme, live).
//
// This script runs synchronously in <head> so data-theme is set before the
// first paint (no flash of the wrong theme). The preference is kept in
// localStorage under "theme-preference". Every change dispatches a
// "themechange" event on document with {preference, theme}; the dashboard's
// charts listen to it and recolour themselves without a reload.
//
// window.__pageReady (a promise of {ms, charts, errors}) tells scripts and
// tests that a page has shown what it loads at the start; pages with a
// script of their own set it there, the others get it here.
(function () {
  "use strict";

  var KEY = "theme-preference";
  var ORDER = ["light", "dark", "auto"];
  var ICONS = { light: "\u2600", dark: "\u263E", auto: "\u25D0" };
  var NAMES = { light: "Light", dark: "Dark", auto: "Auto" };
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var root = document.documentElement;
  var memory = null; // the choice when localStorage refuses writes

  function stored() {
    try {
      return window.localStorage.getItem(KEY);
    } catch (e) {
      return null; // storage disabled
    }
  }

  function preference() {
    var p = stored();
    if (ORDER.indexOf(p) < 0) {
      p = memory;
    }
    return ORDER.indexOf(p) >= 0 ? p : "auto";
  }

  function effective(p) {
    if (p === "auto") {
      return media && media.matches ? "dark" : "light";
    }
    return p;
  }

  function label(p) {
    var text = NAMES[p];
    if (p === "auto") {
      text += " (" + effective(p) + ")";
    }
    return text;
  }

  function updateButton() {
    var b = document.getElementById("theme-toggle");
    if (!b) {
      return;
    }
    var p = preference();
    var icon = b.querySelector(".theme-icon");
    if (icon) {
      icon.textContent = ICONS[p];
    }
    var next = ORDER[(ORDER.indexOf(p) + 1) % ORDER.length];
    b.title = "Theme: " + label(p);
    b.setAttribute("aria-label", "Theme: " + label(p) + ". Switch to " + NAMES[next]);
    b.setAttribute("data-preference", p);
  }

  function apply() {
    var p = preference();
    var t = effective(p);
    var changed = root.getAttribute("data-theme") !== t || root.getAttribute("data-theme-preference") !== p;
    root.setAttribute("data-theme", t);
    root.setAttribute("data-theme-preference", p);
    updateButton();
    if (changed) {
      document.dispatchEvent(new CustomEvent("themechange", { detail: { preference: p, theme: t } }));
    }
  }

  function set(p) {
    if (ORDER.indexOf(p) < 0) {
      return;
    }
    memory = p;
    try {
      window.localStorage.setItem(KEY, p);
    } catch (e) {
      // Storage refused (private mode): the choice lasts for this page only.
    }
    apply();
  }

  function cycle() {
    set(ORDER[(ORDER.indexOf(preference()) + 1) % ORDER.length]);
  }

  apply();

  if (media) {
    var onSystemChange = function () {
      if (preference() === "auto") {
        apply();
      }
    };
    if (media.addEventListener) {
      media.addEventListener("change", onSystemChange);
    } else if (media.addListener) {
      media.addListener(onSystemChange);
    }
  }

  // Another tab changed the preference.
  window.addEventListener("storage", function (e) {
    if (e.key === KEY) {
      apply();
    }
  });

  // The toggle works from the moment it is on screen, before the page has
  // finished loading: the listener is on the document, which exists before
  // the button is parsed. (Enter and Space on the button click it too.)
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t && t.closest && t.closest("#theme-toggle")) {
      cycle();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    updateButton();
    // Pages without a script of their own are ready once parsed; page
    // scripts (deferred, so they ran before this event) set their own
    // window.__pageReady.
    if (!window.__pageReady) {
      window.__pageReady = Promise.resolve({ ms: window.performance ? window.performance.now() : 0, charts: 0, errors: 0 });
    }
  });

  window.spotifyhistTheme = {
    preference: preference,
    theme: function () {
      return effective(preference());
    },
    label: function () {
      return label(preference());
    },
    set: set,
    cycle: cycle
  };
})();
