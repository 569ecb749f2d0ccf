// The model picker in the top bar, and the badge that tells how the chosen model fits this
// machine.
import { els, state } from "./state.js";
import { el, formatSize, toast } from "./dom.js";
import { api, reportError } from "./api.js";

function formatParameters(value) {
  if (typeof value !== "number") return value || "";
  for (const [size, unit] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (value >= size) {
      const n = value / size;
      return `${n >= 10 ? Math.round(n) : n.toFixed(1).replace(/\.0$/, "")}${unit}`;
    }
  }
  return String(value);
}

function modelLabel(model) {
  const bits = [model.name];
  const details = [formatParameters(model.parameters), model.quantization].filter(Boolean).join(" ");
  if (details) bits.push(details);
  if (model.fit && model.fit.verdict) bits.push(fitText(model.fit));
  return bits.join(" · ");
}

function fitText(fit) {
  let text = String(fit.verdict).replace(/_/g, " ");
  if (typeof fit.tokens_per_s === "number") text += ` ~${Math.round(fit.tokens_per_s)} tok/s`;
  return text;
}

function fitKind(verdict) {
  const v = String(verdict).toLowerCase();
  if (/(no|not|too|won|cannot|fail)/.test(v)) return "bad";
  if (/(tight|slow|partial|offload|maybe|warn)/.test(v)) return "warn";
  return "good";
}

export function selectedModelName() {
  if (state.conversation) return state.conversation.model || state.defaultModel;
  return state.draft.model || state.defaultModel;
}

export function renderModelPicker() {
  const select = els.modelSelect;
  const chosen = selectedModelName();
  select.replaceChildren();
  const names = new Set();
  for (const model of state.models) {
    names.add(model.name);
    select.append(el("option", { value: model.name, text: modelLabel(model) + (model.default ? " (default)" : "") }));
  }
  if (chosen && !names.has(chosen)) {
    select.append(el("option", { value: chosen, text: `${chosen} (not installed)` }));
  }
  if (!select.options.length) {
    select.append(el("option", { value: "", text: "No models installed" }));
  }
  select.value = chosen || "";
  const model = state.models.find((m) => m.name === chosen);
  const badge = els.fitBadge;
  if (model && model.loading) {
    badge.hidden = false;
    badge.textContent = "loading model…";
    badge.className = "fit-badge fit-warn";
    badge.title = `Ember is loading ${model.name} and reading its tool instructions; a message sent now waits for that`;
  } else if (model && model.fit && model.fit.verdict) {
    badge.hidden = false;
    badge.textContent = fitText(model.fit);
    badge.className = `fit-badge fit-${fitKind(model.fit.verdict)}`;
    badge.title = `How ${model.name} fits this machine`;
  } else {
    badge.hidden = true;
  }
  const facts = model
    ? [formatParameters(model.parameters), model.quantization, formatSize(model.size), model.context_length ? `${model.context_length} ctx` : ""]
        .filter(Boolean)
        .join(" · ")
    : "";
  select.title = facts ? `${chosen}: ${facts}` : chosen || "";
}

export async function loadModels() {
  const data = await api("/models");
  state.models = data.models;
  state.defaultModel = data.default;
  renderModelPicker();
  // A model being loaded as the server starts: look again until it is ready.
  clearTimeout(state.modelsTimer);
  if (state.models.some((m) => m.loading)) {
    state.modelsTimer = setTimeout(() => loadModels().catch(() => {}), 1000);
  }
}

async function changeModel() {
  const name = els.modelSelect.value;
  if (!name) return;
  if (!state.conversation) {
    state.draft.model = name;
    renderModelPicker();
    return;
  }
  try {
    const view = await api(`/conversations/${state.conversation.id}`, { method: "PATCH", json: { model: name } });
    state.conversation = view.conversation;
    renderModelPicker();
    toast(`This chat now uses ${name}`, null, "info");
  } catch (error) {
    reportError(error);
    renderModelPicker();
  }
}

export function bindModels() {
  els.modelSelect.addEventListener("change", changeModel);
}
