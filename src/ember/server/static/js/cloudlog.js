// The egress log: what left this machine for a cloud provider (GET /ember/api/cloud/log).
// Kinds and counts of what was redacted or blocked, never the values.
import { el } from "./dom.js";
import { api, reportError } from "./api.js";

const $ = (id) => document.getElementById(id);

export function bindCloudLog() {
  const dialog = $("cloud-log");
  $("cloud-log-open").addEventListener("click", () => openCloudLog().catch(reportError));
  $("cloud-log-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // the backdrop
  });
}

async function openCloudLog() {
  const dialog = $("cloud-log");
  const body = $("cloud-log-body");
  const { entries } = await api("/cloud/log");
  body.replaceChildren(entries.length ? logTable(entries) : el("p", { class: "notice", text: "Nothing has left this machine." }));
  if (!dialog.open) dialog.showModal();
}

function counts(map, prefix) {
  return Object.entries(map || {}).map(([kind, n]) => `${prefix}${n} ${kind}`);
}

function logTable(entries) {
  const head = el(
    "tr",
    {},
    ...["When", "Provider / model", "Status", "Redacted or blocked", "Tokens", "Reason"].map((t) => el("th", { text: t })),
  );
  const rows = entries.map((e) =>
    el(
      "tr",
      { class: `egress egress-${e.status}` },
      el("td", { text: e.at.slice(0, 19).replace("T", " ") }),
      el("td", { text: `${e.provider}/${e.model}` }),
      el("td", { text: e.status }),
      el("td", { text: [...counts(e.redacted, ""), ...counts(e.blocked, "blocked ")].join(", ") || "–" }),
      el("td", { text: `${e.prompt_tokens} / ${e.completion_tokens}` }),
      el("td", { text: e.reason }),
    ),
  );
  return el("table", { class: "cloud-log-table" }, el("thead", {}, head), el("tbody", {}, ...rows));
}
