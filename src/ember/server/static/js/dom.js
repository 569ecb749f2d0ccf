// Building the page's nodes, and small DOM and formatting helpers. Text always goes in
// with textContent (the `text` attribute of el()): the one place HTML enters the page is
// markdown.js.
import { els } from "./state.js";

const SVG_NS = "http://www.w3.org/2000/svg";

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

const ICONS = {
  edit: ["M4 20h4L19 9l-4-4L4 16z", "M14 6l4 4"],
  trash: ["M5 7h14", "M10 11v6M14 11v6", "M7 7l1 13h8l1-13", "M9 7V4h6v3"],
  copy: ["M9 9h10v11H9z", "M5 15V4h10"],
  check: ["M5 12l5 5 9-10"],
  regenerate: ["M20 11a8 8 0 1 0-2.3 5.7", "M20 4v7h-7"],
  left: ["M15 6l-6 6 6 6"],
  right: ["M9 6l6 6-6 6"],
  close: ["M6 6l12 12M18 6L6 18"],
  file: ["M7 3h7l5 5v13H7z", "M14 3v5h5"],
  plus: ["M12 5v14M5 12h14"],
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function iconButton(name, label, onclick, extraClass) {
  return el(
    "button",
    { type: "button", class: `icon-btn small ${extraClass || ""}`, "aria-label": label, title: label, onclick },
    icon(name),
  );
}

export function toast(message, hint, kind) {
  const item = el(
    "div",
    { class: `toast ${kind || "error"}` },
    el("strong", { text: message }),
    hint ? el("span", { text: hint }) : null,
  );
  els.toasts.append(item);
  setTimeout(() => item.remove(), 6000);
}

export async function copyText(text, button) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = el("textarea", { class: "visually-hidden" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.querySelector("span");
    button.classList.add("copied");
    if (label) label.textContent = "Copied";
    button.setAttribute("aria-label", "Copied");
    setTimeout(() => {
      button.classList.remove("copied");
      if (label) label.textContent = "Copy";
      button.setAttribute("aria-label", button.dataset.label || "Copy code");
    }, 1500);
  } catch (error) {
    toast("Could not copy", String(error));
  }
}

export function formatSize(bytes) {
  if (!bytes) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

export function relativeDay(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return "";
  const now = new Date();
  const day = 86400000;
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  if (then.getTime() >= start) return "Today";
  if (then.getTime() >= start - day) return "Yesterday";
  if (then.getTime() >= start - 7 * day) return "Previous 7 days";
  if (then.getTime() >= start - 30 * day) return "Previous 30 days";
  return then.toLocaleDateString(undefined, { year: "numeric", month: "long" });
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// A textarea as tall as its text, up to 40% of the window.
export function autosize(area) {
  area.style.height = "auto";
  area.style.height = `${Math.min(area.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
}

// Whether a drag event carries files (not text or a link).
export function hasFiles(event) {
  return Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
}
