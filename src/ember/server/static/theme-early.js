// Loaded in <head> without defer (unlike the page's modules, which run once the document
// is parsed): puts the stored or the system's theme on <html> before the first paint, so
// the page never flashes the other one. js/theme.js does the rest.
"use strict";

(() => {
  let theme = null;
  try {
    theme = localStorage.getItem("ember.theme"); // THEME_KEY in js/theme.js
  } catch {
    /* private mode */
  }
  if (theme !== "dark" && theme !== "light") {
    theme = window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.dataset.theme = theme;
})();
