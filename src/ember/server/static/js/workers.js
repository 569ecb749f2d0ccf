// The inference workers behind this server (GET /ember/api/workers): shown to whoever
// may see them (everyone without accounts, admins with), when there are any.
import { el } from "./dom.js";
import { api, reportError } from "./api.js";

const $ = (id) => document.getElementById(id);

export async function bindWorkers() {
  const dialog = $("workers");
  const button = $("workers-open");
  $("workers-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // the backdrop
  });
  button.addEventListener("click", () => openWorkers().catch(reportError));
  try {
    const { workers } = await api("/workers");
    button.hidden = workers.length === 0;
  } catch {
    button.hidden = true; // not an admin, or not signed in yet
  }
}

async function openWorkers() {
  const { workers } = await api("/workers");
  $("workers-body").replaceChildren(workersTable(workers));
  const dialog = $("workers");
  if (!dialog.open) dialog.showModal();
}

function workersTable(workers) {
  const head = el(
    "tr",
    {},
    ...["Worker", "State", "In flight", "Reported load", "Answered", "Models"].map((t) =>
      el("th", { text: t }),
    ),
  );
  const rows = workers.map((w) =>
    el(
      "tr",
      { class: `worker ${w.healthy ? "worker-up" : "worker-down"}` },
      el("td", { text: `${w.name} (${w.url})` }),
      el("td", { text: w.healthy ? "up" : `down: ${w.last_error || "not answering"}` }),
      el("td", { text: String(w.in_flight) }),
      // What the worker's own metrics say it runs or queues, from every front end.
      el("td", { text: w.load == null ? "–" : String(w.load) }),
      el("td", { text: String(w.answered) }),
      el("td", { text: (w.models || []).join(", ") || "–" }),
    ),
  );
  return el("table", { class: "cloud-log-table" }, el("thead", {}, head), el("tbody", {}, ...rows));
}
