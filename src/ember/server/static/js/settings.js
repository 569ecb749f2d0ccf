// Settings for this chat: system prompt, temperature, max tokens, context size (kept as a
// draft until a new chat is created), and the export links.
import { API, els, state } from "./state.js";
import { toast } from "./dom.js";
import { api, reportError } from "./api.js";
import { selectedModelName } from "./models.js";

export function currentSettings() {
  if (state.conversation) {
    return { system: state.conversation.system || "", settings: state.conversation.settings || {} };
  }
  return { system: state.draft.system || "", settings: state.draft.settings };
}

function openSettings() {
  const { system, settings } = currentSettings();
  els.setSystem.value = system;
  els.setTemperature.value = settings.temperature ?? "";
  els.setMaxTokens.value = settings.max_tokens ?? "";
  els.setNumCtx.value = settings.num_ctx ?? "";
  const model = state.models.find((m) => m.name === selectedModelName());
  els.setNumCtx.placeholder = model && model.context_length ? `default (${model.context_length})` : "model default";
  const conv = state.conversation;
  els.exportLinks.hidden = !conv;
  if (conv) {
    els.exportJson.href = `${API}/conversations/${conv.id}/export?format=json`;
    els.exportMd.href = `${API}/conversations/${conv.id}/export?format=markdown`;
  }
  els.settingsPanel.hidden = false;
  els.settingsToggle.setAttribute("aria-expanded", "true");
  els.setSystem.focus();
}

export function closeSettings() {
  els.settingsPanel.hidden = true;
  els.settingsToggle.setAttribute("aria-expanded", "false");
}

function numberOrNull(input, integer) {
  const raw = input.value.trim();
  if (raw === "") return null;
  const value = integer ? parseInt(raw, 10) : parseFloat(raw);
  return Number.isFinite(value) ? value : null;
}

async function saveSettings(event) {
  event.preventDefault();
  const { settings } = currentSettings();
  const next = { ...settings };
  const fields = {
    temperature: numberOrNull(els.setTemperature, false),
    max_tokens: numberOrNull(els.setMaxTokens, true),
    num_ctx: numberOrNull(els.setNumCtx, true),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  const system = els.setSystem.value.trim() ? els.setSystem.value : null;
  if (!state.conversation) {
    state.draft.system = system;
    state.draft.settings = next;
    closeSettings();
    toast("Settings saved for this new chat", null, "info");
    return;
  }
  try {
    const view = await api(`/conversations/${state.conversation.id}`, {
      method: "PATCH",
      json: { system, settings: next },
    });
    state.conversation = view.conversation;
    closeSettings();
    toast("Settings saved", null, "info");
  } catch (error) {
    reportError(error);
  }
}

export function bindSettings() {
  els.settingsToggle.addEventListener("click", () => {
    if (els.settingsPanel.hidden) openSettings();
    else closeSettings();
  });
  els.settingsCancel.addEventListener("click", closeSettings);
  els.settingsForm.addEventListener("submit", saveSettings);
}
