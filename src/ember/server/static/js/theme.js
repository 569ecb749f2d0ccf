// Light or dark: the system's choice until one is picked with the switch, then that one
// (kept in localStorage). ../theme-early.js has already set it before the first paint;
// this module labels the switch, follows the system and remembers a choice.
import { els } from "./state.js";

const THEME_KEY = "ember.theme"; // also read by ../theme-early.js

const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

function storedTheme() {
  try {
    const value = localStorage.getItem(THEME_KEY);
    return value === "dark" || value === "light" ? value : null;
  } catch {
    return null;
  }
}

function currentTheme() {
  return storedTheme() || (darkQuery.matches ? "dark" : "light");
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  if (button) {
    const other = theme === "dark" ? "light" : "dark";
    button.setAttribute("aria-label", `Switch to ${other} theme`);
    document.getElementById("theme-label").textContent =
      other === "dark" ? "Dark theme" : "Light theme";
  }
}

export function bindTheme() {
  applyTheme(currentTheme());
  darkQuery.addEventListener("change", () => {
    if (!storedTheme()) applyTheme(currentTheme());
  });
  els.themeToggle.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      /* private mode: the choice lasts for this page */
    }
    applyTheme(next);
  });
}
