// The messages of the shown branch: your text, answers (with their sources, tool calls,
// timings and status), copy, edit, regenerate and the arrows between branches.
import { els, state } from "./state.js";
import { autosize, copyText, el, iconButton } from "./dom.js";
import { api, reportError } from "./api.js";
import { citationsOf, sourcesNode } from "./citations.js";
import { hooks } from "./hooks.js";
import { setAnswerHtml } from "./markdown.js";

export function isNearBottom() {
  const s = els.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

export function scrollToBottom() {
  els.scroller.scrollTop = els.scroller.scrollHeight;
}

export function renderMessages(options) {
  const scroll = (options && options.scroll) || "bottom";
  const top = els.scroller.scrollTop;
  els.messages.replaceChildren(...messageNodes(state.messages));
  els.welcome.hidden = state.messages.length > 0;
  if (scroll === "bottom") scrollToBottom();
  else els.scroller.scrollTop = top;
}

// The tool steps of an answer (the calls the model made and what they returned) are not
// answers: consecutive ones are shown once, as one collapsed block before the answer they
// led to, whose metadata is then the only footer.
function messageNodes(messages) {
  const nodes = [];
  let steps = [];
  const flush = () => {
    if (steps.length) nodes.push(toolStepsNode(steps));
    steps = [];
  };
  for (const message of messages) {
    if (isToolStep(message)) {
      steps.push(message);
      continue;
    }
    flush();
    nodes.push(messageNode(message));
  }
  flush();
  return nodes;
}

function isToolStep(message) {
  if (message.role === "tool") return true;
  const calls = (message.meta || {}).tool_calls;
  return message.role === "assistant" && Array.isArray(calls) && calls.length > 0;
}

// One line per call, `name(arguments) → result`; a call still running shows "…". What the
// model wrote beside its calls (rare: the loop holds such text back) is kept as a note.
function toolStepsNode(steps) {
  const results = new Map();
  for (const step of steps) {
    if (step.role === "tool") results.set((step.meta || {}).tool_call_id, step);
  }
  const items = [];
  const names = [];
  let failed = 0;
  const shown = new Set();
  for (const step of steps) {
    const meta = step.meta || {};
    if (step.role === "tool") {
      if (shown.has(meta.tool_call_id)) continue;
      // A result without its call in this branch (an imported conversation): its own line.
      items.push(toolStepItem(meta.name || "tool", meta.arguments, step));
      names.push(meta.name || "tool");
      if (meta.is_error) failed += 1;
      continue;
    }
    if (step.content && step.content.trim()) {
      items.push(el("li", { class: "tool-step-note", text: step.content }));
    }
    for (const call of meta.tool_calls) {
      const result = results.get(call.id);
      if (result) shown.add(call.id);
      items.push(toolStepItem(call.name, call.arguments, result));
      names.push(call.name);
      if (result && (result.meta || {}).is_error) failed += 1;
    }
  }
  const first = steps[0].id;
  const count = names.length;
  const label = `Used ${count === 1 ? "a tool" : `${count} tools`}: ${[...new Set(names)].join(", ")}`;
  const details = el(
    "details",
    { class: `tool-steps${failed ? " tool-error" : ""}`, dataset: { id: first } },
    el("summary", { text: failed ? `${label} (${failed} failed)` : label }),
    el("ol", { class: "tool-step-list" }, ...items),
  );
  details.open = state.openSteps.has(first);
  details.addEventListener("toggle", () => {
    if (details.open) state.openSteps.add(first);
    else state.openSteps.delete(first);
  });
  return el("div", { class: "msg msg-tool-steps", "aria-label": "Tool steps" }, details);
}

function toolStepItem(name, args, result) {
  const meta = (result && result.meta) || {};
  const outcome = result
    ? el("pre", { class: `tool-output${meta.is_error ? " tool-failed" : ""}`, text: result.content })
    : el("span", { class: "tool-pending", text: "…" });
  return el(
    "li",
    { class: "tool-step" },
    el("code", { class: "tool-call", text: `${name}(${readableArguments(args)})` }),
    el("span", { class: "tool-arrow", "aria-hidden": "true", text: "→" }),
    outcome,
  );
}

function messageNode(message) {
  const streaming = Boolean(state.stream && state.stream.assistantId === message.id);
  const node = el("article", {
    class: `msg msg-${message.role}`,
    dataset: { id: message.id, role: message.role, status: message.status },
    "aria-label": message.role === "user" ? "You said" : message.role === "assistant" ? "Ember answered" : `${message.role} message`,
  });
  if (message.role === "user") {
    node.append(
      el("div", { class: "bubble" }, el("div", { class: "msg-body user-text", text: message.content })),
      messageToolbar(message),
    );
    return node;
  }
  if (message.role !== "assistant") {
    node.append(el("div", { class: "msg-body note", text: message.content }));
    return node;
  }
  const meta = message.meta || {};
  if (meta.trimmed > 0) {
    const n = meta.trimmed;
    node.append(
      el("p", {
        class: "notice",
        role: "note",
        text: `${n} earlier message${n === 1 ? " was" : "s were"} left out to fit the context`,
      }),
    );
  }
  const body = el("div", { class: "msg-body markdown" });
  const citations = citationsOf(message);
  setAnswerHtml(body, message.html || "", citations);
  if (message.pendingText) body.append(el("span", { class: "stream-tail", text: message.pendingText }));
  if (streaming && !message.content) body.append(typingDots());
  node.append(body);
  if (citations.length) node.append(sourcesNode(citations));
  if (message.status === "error" && meta.error_code === "cloud_confirmation_required") {
    node.append(el("p", { class: "notice cloud-question", role: "note", text: meta.error }));
    node.append(cloudQuestion(message));
  } else if (message.status === "error" && meta.error) {
    node.append(el("p", { class: "msg-error", role: "alert", text: meta.error }));
  }
  if (meta.route && meta.route.notice) {
    node.append(el("p", { class: "notice route-notice", role: "note", text: meta.route.notice }));
  }
  const offer = meta.route && meta.route.offer;
  if (offer && message.status === "complete" && !streaming) {
    // The local model did not manage (policy "ask"): offer the cloud model, with a preview.
    node.append(el("p", { class: "notice cloud-offer", role: "note", text: offer.reason }));
    node.append(cloudQuestion(message, { label: `Ask ${offer.model}`, useCloud: true }));
  }
  node.append(answerFooter(message, streaming));
  return node;
}

// A call's arguments as a person reads them: `text: "strawberry", letter: "r"`. They
// are stored as the JSON text the model wrote; shown as JSON of that text they came out
// encoded twice (`count_letter("{\"text\": …}")`).
export function readableArguments(args) {
  let value = args ?? {};
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return JSON.stringify(value);
  return Object.entries(value)
    .map(([key, v]) => `${key}: ${JSON.stringify(v)}`)
    .join(", ");
}

function typingDots() {
  return el("span", { class: "typing", "aria-label": "Ember is writing" }, el("i"), el("i"), el("i"));
}

function siblingNav(message) {
  const siblings = message.siblings || [];
  if (siblings.length < 2) return null;
  const index = message.sibling_index || 0;
  const which = message.role === "user" ? "message" : "answer";
  const go = (delta) => showSibling(siblings[index + delta]);
  const prev = iconButton("left", `Previous ${which}`, () => go(-1), "sib-prev");
  const next = iconButton("right", `Next ${which}`, () => go(1), "sib-next");
  prev.disabled = index === 0 || Boolean(state.stream);
  next.disabled = index === siblings.length - 1 || Boolean(state.stream);
  return el(
    "span",
    { class: "siblings", role: "group", "aria-label": `Version ${index + 1} of ${siblings.length}` },
    prev,
    el("span", { class: "sib-count", text: `${index + 1}/${siblings.length}` }),
    next,
  );
}

async function showSibling(messageId) {
  if (!state.conversation || !messageId || state.stream) return;
  try {
    const view = await api(`/conversations/${state.conversation.id}/branch`, {
      method: "POST",
      json: { message_id: messageId },
    });
    hooks.showView(view, { scroll: "keep" });
  } catch (error) {
    reportError(error);
  }
}

function messageToolbar(message) {
  const busy = Boolean(state.stream);
  const edit = iconButton("edit", "Edit message", () => startEdit(message));
  edit.disabled = busy;
  const copy = iconButton("copy", "Copy message", () => copyText(message.content, copy));
  copy.dataset.label = "Copy message";
  return el("div", { class: "msg-tools" }, siblingNav(message), copy, edit);
}

// The policy is "ask": say what would leave and let the user send it, or not.
// `options.useCloud`: an offer under a local answer (the cloud model answers afresh).
function cloudQuestion(message, options = {}) {
  const box = el("div", { class: "cloud-ask", role: "group", "aria-label": "Send to the cloud?" });
  const preview = el("div", { class: "cloud-preview", hidden: true });
  const show = el("button", { type: "button", class: "btn small", text: "Show what will be sent" });
  const send = el("button", { type: "button", class: "btn small btn-primary", text: options.label || "Send to the cloud" });
  send.disabled = Boolean(state.stream);
  show.addEventListener("click", async () => {
    try {
      const found = await api(`/conversations/${state.conversation.id}/messages/${message.id}/cloud-preview`);
      preview.replaceChildren(...previewNodes(found));
      preview.hidden = false;
      show.hidden = true;
    } catch (error) {
      reportError(error);
    }
  });
  send.addEventListener("click", () =>
    hooks.regenerate(message, options.useCloud ? { useCloud: true } : { confirmCloud: true }),
  );
  box.append(el("div", { class: "cloud-ask-actions" }, show, send), preview);
  return box;
}

function previewNodes(found) {
  const nodes = [];
  const redacted = Object.entries(found.redacted || {});
  const blocked = Object.entries(found.blocked || {});
  if (blocked.length) {
    nodes.push(el("p", { class: "msg-error", text: `Blocked: ${kindsText(blocked)} never leave this machine.` }));
  } else if (redacted.length) {
    nodes.push(el("p", { class: "notice", text: `Replaced by placeholders before sending: ${kindsText(redacted)}.` }));
  } else {
    nodes.push(el("p", { class: "notice", text: "Nothing private was found; the messages go as they are." }));
  }
  if ((found.tools || []).length) {
    nodes.push(el("p", { class: "notice", text: `Tools offered with it: ${found.tools.join(", ")}.` }));
  }
  for (const m of found.messages || []) {
    nodes.push(el("div", { class: "preview-msg" }, el("strong", { text: `${m.role}: ` }), el("span", { text: m.content })));
  }
  return nodes;
}

function kindsText(entries) {
  return entries.map(([kind, n]) => `${n} ${kind}`).join(", ");
}

// Where the answer was computed and why, when the cloud gate decided (meta.route).
function routeBadges(meta) {
  const route = meta.route;
  if (!route) return [];
  const badges = [];
  if (route.target === "cloud") {
    badges.push(el("span", { class: "badge badge-cloud", text: `cloud: ${route.provider} — ${route.reason}`, title: route.reason }));
    const redacted = Object.entries(route.redacted || {});
    if (redacted.length) {
      badges.push(
        el("span", {
          class: "badge badge-warn redacted",
          text: `redacted: ${kindsText(redacted)}`,
          title: "Replaced by placeholders before sending; put back here",
        }),
      );
    }
  } else {
    badges.push(el("span", { class: "badge", text: "local", title: route.notice || route.reason }));
  }
  return badges;
}

function answerFooter(message, streaming) {
  const meta = message.meta || {};
  const parts = [];
  if (meta.where) parts.push(meta.where);
  if (message.model) parts.push(message.model);
  if (typeof meta.ttft_s === "number") parts.push(`TTFT ${meta.ttft_s.toFixed(2)} s`);
  if (typeof meta.decode_tps === "number" && meta.decode_tps > 0) {
    parts.push(`${meta.decode_tps.toFixed(1)} tok/s`);
  }
  const footer = el("div", { class: "msg-tools answer-tools" });
  const nav = siblingNav(message);
  if (nav) footer.append(nav);
  if (!streaming) {
    const copy = iconButton("copy", "Copy answer", () => copyText(message.content, copy));
    copy.dataset.label = "Copy answer";
    const regen = iconButton("regenerate", "Regenerate answer", () => hooks.regenerate(message));
    regen.disabled = Boolean(state.stream) || !message.parent_id;
    footer.append(copy, regen);
  }
  footer.append(el("span", { class: "msg-meta", text: parts.join(" · ") }));
  footer.append(...routeBadges(meta));
  if (streaming) {
    footer.append(el("span", { class: "badge badge-live", text: "writing" }));
  } else if (message.status === "incomplete") {
    footer.append(el("span", { class: "badge badge-warn", text: "incomplete", title: "Stopped before the end; the text so far is kept" }));
  } else if (message.status === "error" && meta.error_code === "cloud_confirmation_required") {
    footer.append(el("span", { class: "badge badge-warn", text: "waiting for your OK" }));
  } else if (message.status === "error") {
    footer.append(el("span", { class: "badge badge-error", text: "error" }));
  } else if (message.status === "streaming" && !streaming) {
    footer.append(el("span", { class: "badge", text: "in progress" }));
  } else if (meta.finish_reason === "length") {
    footer.append(el("span", { class: "badge", text: "max tokens", title: "Stopped at the answer's length limit" }));
    const more = el("button", { type: "button", class: "btn small continue", text: "Continue" });
    more.disabled = Boolean(state.stream);
    more.addEventListener("click", () => hooks.continueAnswer(message));
    footer.append(more);
  } else if (meta.finish_reason === "repetition") {
    footer.append(
      el("span", {
        class: "badge badge-warn",
        text: "stopped: repeating itself",
        title: "The model kept writing the same words, so Ember stopped it and kept one copy",
      }),
    );
  }
  return footer;
}

function startEdit(message) {
  if (state.stream) return;
  const node = els.messages.querySelector(`[data-id="${CSS.escape(message.id)}"]`);
  if (!node) return;
  const area = el("textarea", { class: "edit-area", "aria-label": "Edit your message", rows: "3" });
  area.value = message.content;
  const cancel = el("button", { type: "button", class: "btn", text: "Cancel" });
  const save = el("button", { type: "submit", class: "btn btn-primary", text: "Send" });
  const form = el("form", { class: "edit-form" }, area, el("div", { class: "edit-actions" }, cancel, save));
  cancel.addEventListener("click", () => renderMessages({ scroll: "keep" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const content = area.value;
    if (!content.trim()) return;
    hooks.editMessage(message, content);
  });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      renderMessages({ scroll: "keep" });
    }
  });
  node.replaceChildren(form);
  autosize(area);
  area.addEventListener("input", () => autosize(area));
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}
