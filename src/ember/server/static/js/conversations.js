// The conversations: the sidebar's list (search, rename, delete), opening one or starting
// a new chat, the address (#/c/<id>), the narrow-screen drawer and importing an export.
import { els, state } from "./state.js";
import { el, iconButton, relativeDay, toast } from "./dom.js";
import { ApiError, api, reportError } from "./api.js";
import { renderDocBar } from "./documents.js";
import { hooks } from "./hooks.js";
import { renderMessages } from "./messages.js";
import { renderModelPicker } from "./models.js";
import { closeSettings } from "./settings.js";

export function routeId() {
  const match = /^#\/c\/([\w-]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

export function setRoute(id) {
  const hash = id ? `#/c/${id}` : "";
  if (location.hash !== hash) {
    history.replaceState(null, "", hash || location.pathname);
  }
}

let listRequest = 0;

export async function loadConversations() {
  const q = state.searchQuery.trim();
  const mine = ++listRequest;
  const data = await api(`/conversations${q ? `?q=${encodeURIComponent(q)}` : ""}`);
  if (mine !== listRequest) return; // a newer list is on its way
  state.conversations = data.conversations;
  renderConversationList();
}

export function refreshListQuietly() {
  loadConversations().catch(() => {});
}

function snippetNode(snippet) {
  // The server marks hits with [ and ]: show them as <mark>, everything as text.
  const node = el("span", { class: "conv-snippet" });
  const parts = snippet.split(/(\[[^\]]*\])/);
  for (const part of parts) {
    if (part.startsWith("[") && part.endsWith("]") && part.length > 2) {
      node.append(el("mark", { text: part.slice(1, -1) }));
    } else if (part) {
      node.append(document.createTextNode(part));
    }
  }
  return node;
}

function renderConversationList() {
  const list = els.convList;
  // An item being renamed or confirming its deletion stays as it is, and where it is:
  // taking it out of the page, even for a moment, would blur its input and end the edit.
  const editing = list.querySelector(".conv-item.editing");
  const searching = Boolean(state.searchQuery.trim());
  const nodes = [];
  let group = null;
  let kept = false;
  for (const conv of state.conversations) {
    if (!searching) {
      const label = relativeDay(conv.updated_at);
      if (label !== group) {
        group = label;
        nodes.push(el("li", { class: "conv-group", role: "presentation", text: label }));
      }
    }
    const keep = editing && editing.dataset.id === conv.id;
    kept = kept || Boolean(keep);
    nodes.push(keep ? editing : conversationItem(conv, searching));
  }
  if (kept) {
    for (const child of [...list.children]) if (child !== editing) child.remove();
    const at = nodes.indexOf(editing);
    editing.before(...nodes.slice(0, at));
    editing.after(...nodes.slice(at + 1));
  } else {
    list.replaceChildren(...nodes);
  }
  els.convEmpty.hidden = state.conversations.length > 0;
  els.convEmpty.textContent = searching ? "No conversations match." : "No conversations yet.";
}

function conversationItem(conv, searching) {
  const active = state.conversation && state.conversation.id === conv.id;
  const title = conv.title || "Untitled chat";
  const snippet = searching && conv.snippet && conv.snippet !== conv.title ? snippetNode(conv.snippet) : null;
  if (snippet) snippet.id = `snippet-${conv.id}`;
  const open = el(
    "button",
    {
      type: "button",
      class: "conv-open",
      "aria-current": active ? "page" : null,
      "aria-labelledby": `title-${conv.id}`,
      "aria-describedby": snippet ? snippet.id : null,
      onclick: () => {
        openConversation(conv.id, conv.message_id).catch(reportError);
        closeDrawer();
      },
    },
    el("span", { class: "conv-title", id: `title-${conv.id}`, text: title }),
    snippet,
  );
  const item = el(
    "li",
    { class: `conv-item${active ? " active" : ""}`, dataset: { id: conv.id } },
    open,
    el(
      "span",
      { class: "conv-actions" },
      iconButton("edit", `Rename “${title}”`, () => startRename(item, conv)),
      iconButton("trash", `Delete “${title}”`, () => confirmDelete(item, conv)),
    ),
  );
  return item;
}

function startRename(item, conv) {
  const input = el("input", {
    type: "text",
    class: "conv-rename",
    value: conv.title || "",
    maxlength: "200",
    "aria-label": "New title",
  });
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    item.classList.remove("editing");
    const title = input.value.trim();
    if (save && title && title !== conv.title) {
      try {
        const view = await api(`/conversations/${conv.id}`, { method: "PATCH", json: { title } });
        if (state.conversation && state.conversation.id === conv.id) {
          state.conversation = view.conversation;
          renderHeader();
        }
      } catch (error) {
        reportError(error);
      }
    }
    await loadConversations().catch(reportError);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      finish(true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  item.classList.add("editing");
  item.replaceChildren(input);
  input.focus();
  input.select();
}

function confirmDelete(item, conv) {
  const title = conv.title || "Untitled chat";
  const no = el("button", { type: "button", class: "btn small", text: "Cancel" });
  const yes = el("button", {
    type: "button",
    class: "btn small btn-danger",
    text: "Delete",
    "aria-label": `Confirm deleting “${title}”`,
  });
  no.addEventListener("click", () => {
    item.classList.remove("editing");
    renderConversationList();
  });
  yes.addEventListener("click", async () => {
    try {
      if (state.stream && state.stream.conversationId === conv.id) hooks.stopStream();
      await api(`/conversations/${conv.id}`, { method: "DELETE" });
      item.classList.remove("editing");
      if (state.conversation && state.conversation.id === conv.id) newChat();
      await loadConversations();
    } catch (error) {
      item.classList.remove("editing");
      reportError(error);
    }
  });
  item.classList.add("editing");
  item.replaceChildren(
    el("div", { class: "conv-confirm" }, el("span", { text: `Delete “${title}”?` }), no, yes),
  );
  yes.focus();
}

export function newChat() {
  if (state.stream) hooks.leaveStream(); // the answer goes on: it is there when reopened
  state.conversation = null;
  state.messages = [];
  state.draft = { model: null, system: null, settings: {} };
  setRoute(null);
  renderAll();
  closeSettings();
  els.prompt.focus();
}

export async function openConversation(id, messageId) {
  if (state.stream && state.stream.conversationId !== id) hooks.leaveStream();
  const view = await api(`/conversations/${id}`);
  showView(view, { scroll: "bottom" });
  setRoute(id);
  closeSettings();
  if (messageId) highlightMessage(messageId);
}

export function showView(view, options) {
  state.conversation = view.conversation;
  state.messages = view.messages;
  for (const message of state.messages) {
    if (message.status === "streaming" && state.stopped.has(message.id)) message.status = "incomplete";
  }
  renderAll(options);
  schedulePollIfStreamingElsewhere();
}

// An answer still being written (after a reload, by another tab, or back from another
// chat): follow its live stream. One whose stop the server has not seen yet, or one the
// server no longer runs: look again shortly, until it settles.
function schedulePollIfStreamingElsewhere() {
  clearTimeout(state.pollTimer);
  if (state.stream || !state.conversation) return;
  const id = state.conversation.id;
  if (!state.messages.some((m) => m.status === "streaming")) {
    if (state.detached === id) state.detached = null;
    return;
  }
  if (state.detached !== id) {
    hooks.followLive(id);
    return;
  }
  state.pollTimer = setTimeout(async () => {
    if (state.stream || !state.conversation || state.conversation.id !== id) return;
    try {
      showView(await api(`/conversations/${id}`), { scroll: "keep" });
    } catch (error) {
      reportError(error);
    }
  }, 1000);
}

function highlightMessage(messageId) {
  const node = els.messages.querySelector(`[data-id="${CSS.escape(messageId)}"]`);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("flash");
  setTimeout(() => node.classList.remove("flash"), 2000);
}

export function renderAll(options) {
  renderHeader();
  renderModelPicker();
  renderMessages(options);
  renderConversationList();
  hooks.renderComposer();
  renderDocBar();
}

export function renderHeader() {
  const title = state.conversation ? state.conversation.title || "Untitled chat" : "New chat";
  els.chatTitle.textContent = title;
  document.title = state.conversation && state.conversation.title ? `${title} · Ember` : "Ember";
}

function openDrawer() {
  els.app.classList.add("drawer-open");
  els.scrim.hidden = false;
  els.openSidebar.setAttribute("aria-expanded", "true");
  els.search.focus();
}

export function closeDrawer() {
  if (!els.app.classList.contains("drawer-open")) return;
  els.app.classList.remove("drawer-open");
  els.scrim.hidden = true;
  els.openSidebar.setAttribute("aria-expanded", "false");
}

async function importFile(file) {
  try {
    const data = JSON.parse(await file.text());
    const view = await api("/conversations/import", { method: "POST", json: data });
    showView(view, { scroll: "bottom" });
    setRoute(view.conversation.id);
    await loadConversations();
    toast("Conversation imported", null, "info");
  } catch (error) {
    reportError(error instanceof SyntaxError ? new ApiError("That file is not JSON", "choose an Ember JSON export") : error);
  }
}

export function bindConversations() {
  els.newChat.addEventListener("click", () => {
    newChat();
    closeDrawer();
  });
  let searchTimer = null;
  els.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.searchQuery = els.search.value;
      loadConversations().catch(reportError);
    }, 200);
  });
  els.openSidebar.addEventListener("click", openDrawer);
  els.closeSidebar.addEventListener("click", closeDrawer);
  els.scrim.addEventListener("click", closeDrawer);
  els.importFile.addEventListener("change", () => {
    const file = els.importFile.files[0];
    els.importFile.value = "";
    if (file) importFile(file);
  });
}
