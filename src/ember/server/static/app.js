// Ember's chat page: plain JavaScript, no build step, no third-party code.
//
// Everything lives on the server (/ember/api): this page only shows it. Model answers
// arrive as sanitised HTML rendered by the server (the `html` field) and are the only
// thing ever assigned to innerHTML; everything else (user text, titles, errors, tool
// output) is set with textContent.
"use strict";

(() => {
  const API = "/ember/api";
  const DOCS_API = "/api/documents";
  const THEME_KEY = "ember.theme";
  const TITLE_REFRESH_MS = [2500, 6000];
  const SVG_NS = "http://www.w3.org/2000/svg";

  // ------------------------------------------------------------------ theme (first)

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

  applyTheme(currentTheme());
  darkQuery.addEventListener("change", () => {
    if (!storedTheme()) applyTheme(currentTheme());
  });

  // ------------------------------------------------------------------------ state

  const state = {
    conversations: [],
    conversation: null, // the open conversation (null: a new chat not yet created)
    messages: [], // the shown branch, root to tip (message views)
    models: [],
    defaultModel: null,
    draft: { model: null, system: null, settings: {} }, // settings of a chat not yet created
    stream: null, // {controller, conversationId, assistantId}
    searchQuery: "",
    pollTimer: null,
    stopped: new Set(), // answers stopped here: incomplete, whatever the server says yet
    collections: [], // the document collections on the server: {name, documents}
    docLimits: null, // {max_file_bytes, max_body_bytes, types} from the server
    docsOpen: new Set(), // collections whose documents the menu shows
    docsOf: new Map(), // their documents, as GET /api/documents lists them
    confirmingCollection: null, // the collection whose deletion is being confirmed
    uploadTarget: null, // where the menu's file picker uploads: {collection, attach, named}
    passageShown: null, // the citation whose passage is open
  };

  const $ = (id) => document.getElementById(id);
  let els = {};

  // ---------------------------------------------------------------------- helpers

  function el(tag, attrs, ...children) {
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

  function icon(name) {
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

  function iconButton(name, label, onclick, extraClass) {
    return el(
      "button",
      { type: "button", class: `icon-btn small ${extraClass || ""}`, "aria-label": label, title: label, onclick },
      icon(name),
    );
  }

  function toast(message, hint, kind) {
    const item = el(
      "div",
      { class: `toast ${kind || "error"}` },
      el("strong", { text: message }),
      hint ? el("span", { text: hint }) : null,
    );
    els.toasts.append(item);
    setTimeout(() => item.remove(), 6000);
  }

  class ApiError extends Error {
    constructor(message, hint, status) {
      super(message);
      this.hint = hint;
      this.status = status;
    }
  }

  // -------------------------------------------------------------------- sign-in

  // A server that needs an API key answers the page's calls with 401: ask for the key
  // once; the server keeps it in an HttpOnly cookie (POST /ember/api/login).
  function askForKey() {
    const dialog = document.getElementById("login");
    if (!dialog || dialog.open) return;
    const form = document.getElementById("login-form");
    const input = document.getElementById("login-key");
    const error = document.getElementById("login-error");
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.hidden = true;
      const response = await fetch(`${API}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ key: input.value }),
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
      const problem = await errorOf(response, false);
      error.textContent = problem.message;
      error.hidden = false;
      input.select();
    };
    dialog.showModal();
    input.focus();
  }

  async function errorOf(response, signIn = true) {
    if (signIn && response.status === 401) askForKey();
    let message = `${response.status} ${response.statusText}`;
    let hint = null;
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") {
        message = body.error; // Ollama's shape, used under /api
      } else if (body && body.error) {
        message = body.error.message || message;
        hint = body.error.hint || null;
      }
    } catch {
      /* not JSON */
    }
    return new ApiError(message, hint, response.status);
  }

  async function request(url, options) {
    const init = { method: "GET", headers: {}, ...(options || {}) };
    if (init.json !== undefined) {
      init.body = JSON.stringify(init.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    const response = await fetch(url, init);
    if (!response.ok) throw await errorOf(response);
    if (response.status === 204) return null;
    return response.json();
  }

  const api = (path, options) => request(API + path, options);
  const docsApi = (path, options) => request(DOCS_API + path, options);

  function reportError(error) {
    if (error && error.name === "AbortError") return;
    console.error(error);
    toast(error.message || String(error), error.hint);
  }

  function formatSize(bytes) {
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

  function relativeDay(iso) {
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

  // --------------------------------------------------------------------- routing

  function routeId() {
    const match = /^#\/c\/([\w-]+)$/.exec(location.hash);
    return match ? match[1] : null;
  }

  function setRoute(id) {
    const hash = id ? `#/c/${id}` : "";
    if (location.hash !== hash) {
      history.replaceState(null, "", hash || location.pathname);
    }
  }

  // ---------------------------------------------------------------- conversations

  let listRequest = 0;

  async function loadConversations() {
    const q = state.searchQuery.trim();
    const mine = ++listRequest;
    const data = await api(`/conversations${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    if (mine !== listRequest) return; // a newer list is on its way
    state.conversations = data.conversations;
    renderConversationList();
  }

  function refreshListQuietly() {
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
    // An item being renamed or confirming its deletion stays as it is.
    const editing = list.querySelector(".conv-item.editing");
    list.replaceChildren();
    const searching = Boolean(state.searchQuery.trim());
    let group = null;
    for (const conv of state.conversations) {
      if (!searching) {
        const label = relativeDay(conv.updated_at);
        if (label !== group) {
          group = label;
          list.append(el("li", { class: "conv-group", role: "presentation", text: label }));
        }
      }
      const keep = editing && editing.dataset.id === conv.id;
      list.append(keep ? editing : conversationItem(conv, searching));
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
        if (state.stream && state.stream.conversationId === conv.id) stopStream();
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

  function newChat() {
    if (state.stream) stopStream();
    state.conversation = null;
    state.messages = [];
    state.draft = { model: null, system: null, settings: {} };
    setRoute(null);
    renderAll();
    closeSettings();
    els.prompt.focus();
  }

  async function openConversation(id, messageId) {
    if (state.stream && state.stream.conversationId !== id) stopStream();
    const view = await api(`/conversations/${id}`);
    showView(view, { scroll: "bottom" });
    setRoute(id);
    closeSettings();
    if (messageId) highlightMessage(messageId);
  }

  function showView(view, options) {
    state.conversation = view.conversation;
    state.messages = view.messages;
    for (const message of state.messages) {
      if (message.status === "streaming" && state.stopped.has(message.id)) message.status = "incomplete";
    }
    renderAll(options);
    schedulePollIfStreamingElsewhere();
  }

  // An answer still being written by another tab (or one whose stop the server has
  // not seen yet): look again shortly, until it settles.
  function schedulePollIfStreamingElsewhere() {
    clearTimeout(state.pollTimer);
    if (state.stream || !state.conversation) return;
    if (!state.messages.some((m) => m.status === "streaming")) return;
    const id = state.conversation.id;
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

  // -------------------------------------------------------------------- rendering

  function renderAll(options) {
    renderHeader();
    renderModelPicker();
    renderMessages(options);
    renderConversationList();
    renderComposer();
    renderDocBar();
  }

  function renderHeader() {
    const title = state.conversation ? state.conversation.title || "Untitled chat" : "New chat";
    els.chatTitle.textContent = title;
    document.title = state.conversation && state.conversation.title ? `${title} · Ember` : "Ember";
  }

  function isNearBottom() {
    const s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  function scrollToBottom() {
    els.scroller.scrollTop = els.scroller.scrollHeight;
  }

  function renderMessages(options) {
    const scroll = (options && options.scroll) || "bottom";
    const top = els.scroller.scrollTop;
    els.messages.replaceChildren(...state.messages.map(messageNode));
    els.welcome.hidden = state.messages.length > 0;
    if (scroll === "bottom") scrollToBottom();
    else els.scroller.scrollTop = top;
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
    if (message.role === "tool") {
      const meta = message.meta || {};
      node.append(
        el(
          "details",
          { class: `tool-result${meta.is_error ? " tool-error" : ""}` },
          el("summary", { text: `${meta.is_error ? "Tool failed" : "Tool result"}: ${meta.name || "tool"}` }),
          el("pre", { class: "tool-output", text: message.content }),
        ),
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
    if (streaming && !message.content) body.append(typingDots());
    node.append(body);
    if (citations.length) node.append(sourcesNode(citations));
    if (Array.isArray(meta.tool_calls) && meta.tool_calls.length) {
      for (const call of meta.tool_calls) {
        node.append(
          el(
            "div",
            { class: "tool-call" },
            el("span", { class: "tool-call-label", text: "Used tool" }),
            el("code", { text: `${call.name}(${JSON.stringify(call.arguments ?? {})})` }),
          ),
        );
      }
    }
    if (message.status === "error" && meta.error) {
      node.append(el("p", { class: "msg-error", role: "alert", text: meta.error }));
    }
    node.append(answerFooter(message, streaming));
    return node;
  }

  function typingDots() {
    return el("span", { class: "typing", "aria-label": "Ember is writing" }, el("i"), el("i"), el("i"));
  }

  // The one place HTML from outside this file enters the page: the server's rendering
  // of a model answer, already sanitised against an allow-list (server/markdown.py).
  function setAnswerHtml(body, html, citations) {
    body.innerHTML = html;
    decorateAnswer(body);
    if (citations && citations.length) decorateCitations(body, citations);
  }

  function decorateAnswer(body) {
    for (const pre of body.querySelectorAll("pre")) {
      if (pre.parentElement && pre.parentElement.classList.contains("codeblock")) continue;
      const code = pre.querySelector("code");
      const match = code && /language-([\w+#.-]+)/.exec(code.className);
      const language = match && match[1] !== "text" ? match[1] : "";
      const copy = el("button", { type: "button", class: "copy-code", "aria-label": "Copy code" }, icon("copy"), el("span", { text: "Copy" }));
      copy.addEventListener("click", () => copyText((code || pre).textContent, copy));
      const wrap = el("div", { class: "codeblock" }, el("div", { class: "codeblock-head" }, el("span", { class: "codeblock-lang", text: language || "code" }), copy));
      pre.replaceWith(wrap);
      wrap.append(pre);
    }
    for (const table of body.querySelectorAll("table")) {
      if (table.parentElement.classList.contains("table-wrap")) continue;
      const wrap = el("div", { class: "table-wrap" });
      table.replaceWith(wrap);
      wrap.append(table);
    }
    // Column alignment comes as style="text-align: …", which the page's CSP does not
    // apply: turn it into a class.
    for (const cell of body.querySelectorAll("td[style], th[style]")) {
      const align = /text-align:\s*(left|right|center)/.exec(cell.getAttribute("style") || "");
      cell.removeAttribute("style");
      if (align) cell.classList.add(`align-${align[1]}`);
    }
  }

  async function copyText(text, button) {
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
      showView(view, { scroll: "keep" });
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
      const regen = iconButton("regenerate", "Regenerate answer", () => regenerate(message));
      regen.disabled = Boolean(state.stream) || !message.parent_id;
      footer.append(copy, regen);
    }
    footer.append(el("span", { class: "msg-meta", text: parts.join(" · ") }));
    if (streaming) {
      footer.append(el("span", { class: "badge badge-live", text: "writing" }));
    } else if (message.status === "incomplete") {
      footer.append(el("span", { class: "badge badge-warn", text: "incomplete", title: "Stopped before the end; the text so far is kept" }));
    } else if (message.status === "error") {
      footer.append(el("span", { class: "badge badge-error", text: "error" }));
    } else if (message.status === "streaming" && !streaming) {
      footer.append(el("span", { class: "badge", text: "in progress" }));
    } else if (meta.finish_reason === "length") {
      footer.append(el("span", { class: "badge", text: "max tokens", title: "Stopped at the token limit" }));
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
      editMessage(message, content);
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

  // ----------------------------------------------------------------- model picker

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

  function selectedModelName() {
    if (state.conversation) return state.conversation.model || state.defaultModel;
    return state.draft.model || state.defaultModel;
  }

  function renderModelPicker() {
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
    if (model && model.fit && model.fit.verdict) {
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

  async function loadModels() {
    const data = await api("/models");
    state.models = data.models;
    state.defaultModel = data.default;
    renderModelPicker();
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

  // --------------------------------------------------------------------- settings

  function currentSettings() {
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

  function closeSettings() {
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

  // -------------------------------------------------------------------- streaming

  function renderComposer() {
    const busy = Boolean(state.stream);
    els.send.hidden = busy;
    els.stop.hidden = !busy;
    els.send.disabled = busy || !els.prompt.value.trim();
  }

  function autosize(area) {
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
  }

  async function ensureConversation() {
    if (state.conversation) return state.conversation;
    const body = {};
    if (state.draft.model) body.model = state.draft.model;
    if (state.draft.system) body.system = state.draft.system;
    if (Object.keys(state.draft.settings).length) body.settings = state.draft.settings;
    const view = await api("/conversations", { method: "POST", json: body });
    state.conversation = view.conversation;
    state.messages = view.messages;
    setRoute(view.conversation.id);
    refreshListQuietly();
    return state.conversation;
  }

  async function sendPrompt() {
    const content = els.prompt.value;
    if (!content.trim() || state.stream) return;
    let conversation;
    try {
      conversation = await ensureConversation();
    } catch (error) {
      reportError(error);
      return;
    }
    els.prompt.value = "";
    autosize(els.prompt);
    const pending = { id: "pending-user", role: "user", content, status: "complete", siblings: [], meta: {} };
    await runStream(`/conversations/${conversation.id}/messages`, { content }, state.messages.length, pending, content);
  }

  function editMessage(message, content) {
    const at = state.messages.findIndex((m) => m.id === message.id);
    const pending = { ...message, id: "pending-user", content, siblings: [] };
    runStream(`/conversations/${state.conversation.id}/messages/${message.id}/edit`, { content }, at, pending, null);
  }

  function regenerate(message) {
    if (state.stream || !state.conversation) return;
    const at = state.messages.findIndex((m) => m.id === message.id);
    runStream(`/conversations/${state.conversation.id}/messages/${message.id}/regenerate`, {}, at, null, null);
  }

  // Frames of a server-sent event stream read from a fetch body (EventSource cannot POST).
  async function* sseEvents(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { name, data: JSON.parse(data.join("\n")) };
      }
    }
  }

  // Send, edit or regenerate: keep the branch up to `keep` messages, show `pending`
  // (the user's text) at once, then follow the stream. `restore` goes back into the
  // composer if the request fails before anything was stored.
  async function runStream(path, body, keep, pending, restore) {
    const conversationId = state.conversation.id;
    const controller = new AbortController();
    state.stream = { controller, conversationId, assistantId: null, text: "", html: "" };
    clearTimeout(state.pollTimer);
    state.messages = state.messages.slice(0, keep);
    if (pending) state.messages.push(pending);
    renderMessages({ scroll: "bottom" });
    renderComposer();
    let answerNode = null;
    let tail = null;
    let finished = false;
    let stored = false;

    const replaceMessage = (view) => {
      const i = state.messages.findIndex((m) => m.id === view.id);
      if (i >= 0) state.messages[i] = view;
      else state.messages.push(view);
    };

    const showDelta = (data) => {
      const s = state.stream;
      s.text += data.content;
      const message = state.messages.find((m) => m.id === s.assistantId);
      if (message) message.content = s.text;
      if (!answerNode) return;
      const body = answerNode.querySelector(".msg-body");
      const stick = isNearBottom();
      if (data.html !== undefined) {
        s.html = data.html;
        s.pending = "";
        if (message) message.html = data.html;
        setAnswerHtml(body, data.html);
        tail = null;
      } else {
        // Between renders, show the new words as plain text after the last block.
        s.pending = (s.pending || "") + data.content;
        if (!tail || !tail.isConnected) {
          tail = el("span", { class: "stream-tail" });
          let target = body;
          while (target.lastElementChild && !/^(BR|HR|IMG)$/.test(target.lastElementChild.tagName)) {
            target = target.lastElementChild;
          }
          target.append(tail);
        }
        tail.textContent = s.pending;
      }
      body.querySelector(".typing")?.remove();
      if (stick) scrollToBottom();
    };

    try {
      const response = await fetch(API + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) throw await errorOf(response);
      for await (const event of sseEvents(response)) {
        const data = event.data;
        if (event.name === "start") {
          stored = true;
          if (data.user) {
            state.messages = state.messages.filter((m) => m.id !== "pending-user");
            state.messages.push(data.user);
          }
          state.messages.push(data.assistant);
          state.stream.assistantId = data.assistant.id;
          state.stream.text = "";
          state.stream.pending = "";
          renderMessages({ scroll: "bottom" });
          answerNode = els.messages.querySelector(`[data-id="${CSS.escape(data.assistant.id)}"]`);
          tail = null;
        } else if (event.name === "delta") {
          showDelta(data);
        } else if (event.name === "tool_calls" || event.name === "tool_result") {
          replaceMessage(data.message);
          state.stream.assistantId = null;
          renderMessages({ scroll: "bottom" });
          answerNode = null;
        } else if (event.name === "done") {
          finished = true;
          replaceMessage(data.message);
        } else if (event.name === "error") {
          finished = true;
          const message = state.messages.find((m) => m.id === state.stream.assistantId);
          if (message) {
            message.status = "error";
            message.meta = { ...(message.meta || {}), error: data.message };
          }
          toast(data.message, data.hint);
        }
      }
    } catch (error) {
      if (error.name === "AbortError") {
        const message = state.messages.find((m) => m.id === state.stream.assistantId);
        if (message && message.status === "streaming") message.status = "incomplete";
      } else {
        reportError(error);
        const message = state.messages.find((m) => m.id === state.stream.assistantId);
        if (message && message.status === "streaming") message.status = "incomplete";
      }
    } finally {
      const aborted = controller.signal.aborted;
      const stoppedId = aborted ? state.stream.assistantId : null;
      state.stream = null;
      state.messages = state.messages.filter((m) => m.id !== "pending-user" || !stored);
      if (!stored && restore !== null && !els.prompt.value) {
        els.prompt.value = restore;
        autosize(els.prompt);
      }
      if (!stored) {
        // Nothing was stored: show the conversation as the server has it.
        state.messages = state.messages.filter((m) => m.id !== "pending-user");
      }
      if (state.conversation && state.conversation.id === conversationId) {
        const stick = isNearBottom();
        renderMessages({ scroll: stick ? "bottom" : "keep" });
      }
      renderComposer();
      if (finished && !aborted) {
        await syncAfterStream(conversationId);
      } else if (stoppedId) {
        // The server keeps what it had written: show it (rendered) once it has.
        state.stopped.add(stoppedId);
        setTimeout(() => syncAfterStream(conversationId), 600);
      }
      refreshListQuietly();
      if (finished) {
        for (const delay of TITLE_REFRESH_MS) setTimeout(refreshTitles, delay);
      }
    }
  }

  // After an answer: the stored branch (sibling counts, statuses) as the server has it.
  async function syncAfterStream(conversationId) {
    if (!state.conversation || state.conversation.id !== conversationId || state.stream) return;
    try {
      const view = await api(`/conversations/${conversationId}`);
      if (state.stream || !state.conversation || state.conversation.id !== conversationId) return;
      const stick = isNearBottom();
      showView(view, { scroll: stick ? "bottom" : "keep" });
    } catch (error) {
      reportError(error);
    }
  }

  // Titles are written by the model after the first answer, in the background.
  async function refreshTitles() {
    try {
      await loadConversations();
      if (state.conversation) {
        const fresh = state.conversations.find((c) => c.id === state.conversation.id);
        if (fresh && fresh.title !== state.conversation.title) {
          state.conversation = { ...state.conversation, title: fresh.title };
          renderHeader();
        }
      }
    } catch {
      /* the list will be refreshed again later */
    }
  }

  function stopStream() {
    if (state.stream) state.stream.controller.abort();
  }

  // -------------------------------------------------------------------- citations

  // An answer from documents carries meta.citations: [{n, chunk_id, path, title, page,
  // heading, collection, text}]. Its markers ([1], [1][2]) become buttons that open the
  // passage, and the sources are listed under the answer.
  const CITE_MARK = /\[(\d{1,3})\]/g;

  function citationsOf(message) {
    const list = message && message.meta && message.meta.citations;
    if (!Array.isArray(list)) return [];
    return list
      .filter((c) => c && typeof c === "object" && Number.isInteger(c.n))
      .sort((a, b) => a.n - b.n);
  }

  function baseName(path) {
    return String(path || "").split(/[\\/]/).pop() || "";
  }

  function citationTitle(citation) {
    return citation.title || baseName(citation.path) || `Source ${citation.n}`;
  }

  function citationWhere(citation) {
    const bits = [];
    if (Number.isInteger(citation.page)) bits.push(`page ${citation.page}`);
    if (citation.heading) bits.push(citation.heading);
    if (citation.collection) bits.push(`collection ${citation.collection}`);
    return bits.join(" · ");
  }

  function citeButton(citation) {
    const page = Number.isInteger(citation.page) ? `, page ${citation.page}` : "";
    const label = `${citationTitle(citation)}${page}`;
    return el("button", {
      type: "button",
      class: "cite",
      text: String(citation.n),
      title: label,
      "aria-label": `Source ${citation.n}: ${label}`,
      dataset: { n: String(citation.n) },
      onclick: () => openPassage(citation),
    });
  }

  function decorateCitations(body, citations) {
    const byNumber = new Map(citations.map((c) => [c.n, c]));
    const nodes = [];
    const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest("pre, code, a, .cite")) continue;
      CITE_MARK.lastIndex = 0;
      if (CITE_MARK.test(node.nodeValue)) nodes.push(node);
    }
    for (const node of nodes) {
      const text = node.nodeValue;
      const out = document.createDocumentFragment();
      let at = 0;
      CITE_MARK.lastIndex = 0;
      for (let match = CITE_MARK.exec(text); match; match = CITE_MARK.exec(text)) {
        const citation = byNumber.get(Number(match[1]));
        if (!citation) continue; // not a source of this answer: left as written
        if (match.index > at) out.append(text.slice(at, match.index));
        out.append(citeButton(citation));
        at = match.index + match[0].length;
      }
      if (at === 0) continue;
      if (at < text.length) out.append(text.slice(at));
      node.replaceWith(out);
    }
  }

  function sourcesNode(citations) {
    const list = el("ol", { class: "sources-list" });
    for (const citation of citations) {
      const page = Number.isInteger(citation.page) ? `p. ${citation.page}` : "";
      list.append(
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "source",
              title: citation.path || "",
              "aria-label": `Open source ${citation.n}: ${citationTitle(citation)}${page ? `, ${page}` : ""}`,
              onclick: () => openPassage(citation),
            },
            el("span", { class: "source-n", text: String(citation.n) }),
            el("span", { class: "source-title", text: citationTitle(citation) }),
            page ? el("span", { class: "source-page", text: page }) : null,
            citation.heading ? el("span", { class: "source-heading", text: citation.heading }) : null,
          ),
        ),
      );
    }
    return el("section", { class: "sources", "aria-label": "Sources" }, el("span", { class: "sources-label", text: "Sources" }), list);
  }

  function showPassage(citation, text) {
    els.passageTitle.textContent = `[${citation.n}] ${citationTitle(citation)}`;
    els.passageWhere.textContent = citationWhere(citation);
    els.passagePath.textContent = citation.path || "";
    els.passageText.textContent = text;
  }

  async function openPassage(citation) {
    state.passageShown = citation;
    const known = typeof citation.text === "string" && citation.text.trim() !== "";
    showPassage(citation, known ? citation.text : "Loading the passage…");
    els.passage.classList.toggle("loading", !known);
    if (!els.passage.open) els.passage.showModal();
    if (known) return;
    try {
      if (!Number.isInteger(citation.chunk_id)) throw new ApiError("This source has no passage to show.");
      const found = await docsApi(`/passages/${citation.chunk_id}`);
      if (state.passageShown !== citation) return;
      const merged = {
        ...citation,
        path: citation.path || found.path,
        page: Number.isInteger(citation.page) ? citation.page : found.page,
        heading: citation.heading || found.heading,
        collection: citation.collection || found.collection,
      };
      showPassage(merged, found.text);
    } catch (error) {
      if (state.passageShown !== citation) return;
      els.passageText.textContent =
        error.status === 404
          ? "This passage is no longer in your documents: it was removed or re-indexed."
          : error.message || String(error);
    } finally {
      if (state.passageShown === citation) els.passage.classList.remove("loading");
    }
  }

  function closePassage() {
    state.passageShown = null;
    if (els.passage.open) els.passage.close();
  }

  // -------------------------------------------------------------------- documents

  function chatCollection() {
    return state.conversation ? `chat-${state.conversation.id}` : null;
  }

  function collectionLabel(name) {
    return name === chatCollection() ? "Files of this chat" : name;
  }

  function attachedCollections() {
    const { settings } = currentSettings();
    const names = settings && settings.collections;
    return Array.isArray(names) ? names.filter((n) => typeof n === "string") : [];
  }

  function renderDocBar() {
    const names = attachedCollections();
    els.docAttached.replaceChildren(
      ...names.map((name) =>
        el(
          "li",
          { class: "doc-chip", dataset: { name } },
          el("span", { class: "doc-chip-name", text: collectionLabel(name), title: name }),
          iconButton("close", `Stop answering from ${collectionLabel(name)}`, () => {
            setCollections(names.filter((n) => n !== name)).catch(reportError);
          }),
        ),
      ),
    );
    els.docsToggle.classList.toggle("active", names.length > 0);
    if (!els.docsMenu.hidden) renderDocsMenu();
  }

  // The conversation answers from settings.collections (stored with it).
  async function setCollections(names) {
    const unique = [...new Set(names)];
    if (!state.conversation) {
      state.draft.settings = { ...state.draft.settings, collections: unique };
      renderDocBar();
      return;
    }
    const settings = { ...(state.conversation.settings || {}), collections: unique };
    const view = await api(`/conversations/${state.conversation.id}`, { method: "PATCH", json: { settings } });
    state.conversation = view.conversation;
    renderDocBar();
  }

  async function loadCollections() {
    const data = await docsApi("/collections");
    state.collections = data.collections || [];
    state.docLimits = { max_file_bytes: data.max_file_bytes, max_body_bytes: data.max_body_bytes, types: data.types || [] };
  }

  async function loadDocuments(name) {
    try {
      const data = await docsApi(`?collection=${encodeURIComponent(name)}`);
      state.docsOf.set(name, data.documents || []);
    } catch (error) {
      state.docsOf.delete(name);
      if (error.status !== 404) throw error;
      state.docsOpen.delete(name); // removed meanwhile
    }
  }

  // The collections, and the documents of those shown open, as the server has them now.
  async function refreshDocsMenu() {
    await loadCollections();
    const names = new Set(state.collections.map((c) => c.name));
    for (const name of [...state.docsOpen]) {
      if (!names.has(name)) state.docsOpen.delete(name);
    }
    for (const name of [...state.docsOf.keys()]) {
      if (!state.docsOpen.has(name)) state.docsOf.delete(name);
    }
    await Promise.all([...state.docsOpen].map(loadDocuments));
    if (!els.docsMenu.hidden) renderDocsMenu();
  }

  function renderDocsMenu() {
    const attached = attachedCollections();
    const counts = new Map();
    for (const c of state.collections) {
      // Other chats' upload collections would only clutter the list.
      if (c.name.startsWith("chat-") && c.name !== chatCollection() && !attached.includes(c.name)) continue;
      counts.set(c.name, c.documents);
    }
    for (const name of attached) if (!counts.has(name)) counts.set(name, null);
    // Re-rendering replaces the controls: keep the focus on the same one.
    const active = document.activeElement;
    const focusKey = active && els.docsCollections.contains(active) ? active.dataset.key : null;
    const items = [...counts].map(([name, count]) => collectionItem(name, count, attached));
    els.docsCollections.replaceChildren(...items);
    els.docsEmpty.hidden = items.length > 0;
    if (focusKey) {
      const again = Array.from(els.docsCollections.querySelectorAll("[data-key]")).find((n) => n.dataset.key === focusKey);
      if (again) again.focus();
    }
  }

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function collectionItem(name, count, attached) {
    const label = collectionLabel(name);
    const box = el("input", { type: "checkbox", checked: attached.includes(name), dataset: { name, key: `attach:${name}` } });
    box.addEventListener("change", () => {
      const now = attachedCollections();
      const next = box.checked ? [...now, name] : now.filter((n) => n !== name);
      setCollections(next).catch((error) => {
        box.checked = !box.checked;
        reportError(error);
      });
    });
    const row = el(
      "div",
      { class: "docs-row" },
      el(
        "label",
        { class: "docs-option" },
        box,
        el("span", { class: "docs-option-name", text: label, title: name }),
        el("span", { class: "docs-option-count", text: count === null ? "not found" : plural(count, "document") }),
      ),
    );
    const item = el("li", { class: "docs-item", dataset: { name } }, row);
    if (count === null) return item;
    if (state.confirmingCollection === name) {
      item.append(collectionConfirm(name, count));
      return item;
    }
    const open = state.docsOpen.has(name);
    const toggle = iconButton("right", `Documents in ${label}`, () => toggleDocuments(name), "docs-show");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.dataset.key = `show:${name}`;
    const add = iconButton("plus", `Add files to ${label}`, () => pickFiles({ collection: name, attach: false }));
    add.dataset.key = `add:${name}`;
    row.append(toggle, add);
    if (name !== "default") {
      const remove = iconButton("trash", `Delete the collection ${label}`, () => {
        state.confirmingCollection = name;
        renderDocsMenu();
        const yes = els.docsCollections.querySelector(".docs-confirm .btn-danger");
        if (yes) yes.focus();
      });
      remove.dataset.key = `delete:${name}`;
      row.append(remove);
    }
    if (open) item.append(documentList(name, label));
    bindCollectionDrop(item, name);
    return item;
  }

  function documentList(name, label) {
    const docs = state.docsOf.get(name);
    if (!docs) return el("p", { class: "docs-note", text: "loading…" });
    if (!docs.length) return el("p", { class: "docs-note", text: "No documents in this collection" });
    return el(
      "ul",
      { class: "docs-docs", "aria-label": `Documents in ${label}` },
      ...docs.map((doc) =>
        el(
          "li",
          { class: "docs-doc", dataset: { id: String(doc.id) } },
          icon("file"),
          el("span", { class: "docs-doc-name", text: doc.name, title: doc.path }),
          el("span", { class: "docs-doc-count", text: plural(doc.chunks, "passage") }),
          iconButton("trash", `Delete ${doc.name}`, (event) => deleteDocument(doc, event.currentTarget)),
        ),
      ),
    );
  }

  async function toggleDocuments(name) {
    if (state.docsOpen.has(name)) {
      state.docsOpen.delete(name);
      state.docsOf.delete(name);
      renderDocsMenu();
      return;
    }
    state.docsOpen.add(name);
    renderDocsMenu();
    try {
      await loadDocuments(name);
    } catch (error) {
      state.docsOpen.delete(name);
      reportError(error);
    }
    if (!els.docsMenu.hidden) renderDocsMenu();
  }

  async function deleteDocument(doc, button) {
    button.disabled = true;
    try {
      await docsApi(`/${doc.id}`, { method: "DELETE" });
    } catch (error) {
      if (error.status !== 404) reportError(error);
    }
    await refreshDocsMenu().catch(reportError);
  }

  function collectionConfirm(name, count) {
    const label = collectionLabel(name);
    const no = el("button", { type: "button", class: "btn small", text: "Cancel", dataset: { key: `cancel:${name}` } });
    const yes = el("button", {
      type: "button",
      class: "btn small btn-danger",
      text: "Delete",
      "aria-label": `Confirm deleting the collection ${label}`,
      dataset: { key: `confirm:${name}` },
    });
    no.addEventListener("click", () => {
      state.confirmingCollection = null;
      renderDocsMenu();
      const again = els.docsCollections.querySelector(`[data-key="delete:${CSS.escape(name)}"]`);
      if (again) again.focus();
    });
    yes.addEventListener("click", () => {
      yes.disabled = true;
      deleteCollection(name);
    });
    return el(
      "div",
      { class: "conv-confirm docs-confirm" },
      el("span", { text: `Delete “${label}” and its ${plural(count, "document")}? Files uploaded into it are deleted too.` }),
      no,
      yes,
    );
  }

  async function deleteCollection(name) {
    try {
      await docsApi(`/collections/${encodeURIComponent(name)}`, { method: "DELETE" });
    } catch (error) {
      if (error.status !== 404) reportError(error);
    }
    state.confirmingCollection = null;
    state.docsOpen.delete(name);
    state.docsOf.delete(name);
    try {
      const attached = attachedCollections();
      if (attached.includes(name)) await setCollections(attached.filter((n) => n !== name));
      await refreshDocsMenu();
    } catch (error) {
      reportError(error);
    }
  }

  // Files dropped on a collection's row go into that collection (not into the chat's).
  function bindCollectionDrop(item, name) {
    item.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.stopPropagation();
      event.dataTransfer.dropEffect = "copy";
      item.classList.add("drop-target");
      els.dropZone.hidden = true;
    });
    item.addEventListener("dragleave", (event) => {
      if (!item.contains(event.relatedTarget)) item.classList.remove("drop-target");
    });
    item.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.stopPropagation();
      item.classList.remove("drop-target");
      hideDropZone();
      uploadFiles(Array.from(event.dataTransfer.files || []), { collection: name, attach: false });
    });
  }

  // A collection's name, checked as the server checks it; chat-… names belong to chats.
  const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

  function collectionNameProblem(name) {
    if (!name) return "Give the new collection a name.";
    if (!COLLECTION_NAME.test(name)) {
      return "A collection name is letters, digits, “.”, “_” and “-” (up to 100), starting with a letter or a digit.";
    }
    if (name.startsWith("chat-")) return "Names starting with “chat-” are kept for the files of chats.";
    return "";
  }

  function showNewCollectionError(text) {
    els.docsNewError.textContent = text;
    els.docsNewError.hidden = !text;
    if (text) els.docsNewName.setAttribute("aria-invalid", "true");
    else els.docsNewName.removeAttribute("aria-invalid");
  }

  function startNewCollection() {
    const name = els.docsNewName.value.trim();
    const problem = collectionNameProblem(name);
    showNewCollectionError(problem);
    if (problem) {
      els.docsNewName.focus();
      return;
    }
    pickFiles({ collection: name, attach: true, named: true });
  }

  function pickFiles(target) {
    state.uploadTarget = target;
    els.docsFile.click();
  }

  async function uploadPicked() {
    const files = Array.from(els.docsFile.files || []);
    els.docsFile.value = "";
    const target = state.uploadTarget;
    state.uploadTarget = null;
    if (!target || !files.length) return;
    const outcome = await uploadFiles(files, target);
    if (!target.named) return;
    if (outcome.added) {
      if (els.docsNewName.value.trim() === target.collection) els.docsNewName.value = "";
      showNewCollectionError("");
    } else if (outcome.error && outcome.error.status === 400) {
      showNewCollectionError(outcome.error.message); // the server's word on the name
    }
  }

  async function openDocsMenu() {
    els.docsMenu.hidden = false;
    els.docsToggle.setAttribute("aria-expanded", "true");
    renderDocsMenu();
    try {
      await refreshDocsMenu();
    } catch (error) {
      reportError(error);
    }
  }

  function closeDocsMenu() {
    els.docsMenu.hidden = true;
    els.docsToggle.setAttribute("aria-expanded", "false");
    state.confirmingCollection = null;
  }

  const UPLOAD_DONE = {
    added: (r) => `added · ${r.chunks} passage${r.chunks === 1 ? "" : "s"}`,
    updated: (r) => `updated · ${r.chunks} passage${r.chunks === 1 ? "" : "s"}`,
    unchanged: () => "already added",
    duplicate: (r) => `already here (${r.detail || "same content"})`,
  };

  function uploadRow(file, collection) {
    const bar = el("progress", { max: "1", value: "0", "aria-label": `Upload of ${file.name}` });
    const status = el("span", { class: "upload-status", text: "waiting" });
    const row = el(
      "li",
      { class: "upload", dataset: { state: "waiting" } },
      icon("file"),
      el("span", { class: "upload-name", text: file.name, title: file.name }),
      el("span", { class: "upload-size", text: formatSize(file.size) }),
      collection ? el("span", { class: "upload-where", text: `→ ${collection}`, title: `into the collection ${collection}` }) : null,
      bar,
      status,
    );
    els.uploads.append(row);
    els.uploads.hidden = false;
    const settle = (kind, text) => {
      row.dataset.state = kind;
      bar.remove();
      status.textContent = text;
      if (kind === "failed") {
        row.setAttribute("role", "alert");
        row.append(iconButton("close", `Dismiss ${file.name}`, () => removeUploadRow(row)));
      } else {
        setTimeout(() => removeUploadRow(row), 10000);
      }
    };
    return {
      progress(fraction) {
        row.dataset.state = "sending";
        bar.value = fraction;
        status.textContent = fraction < 1 ? `${Math.round(fraction * 100)}%` : "indexing…";
      },
      done(result) {
        if (result.status === "failed") settle("failed", result.detail || "could not be added");
        else settle("done", (UPLOAD_DONE[result.status] || (() => result.status))(result));
      },
      fail(message) {
        settle("failed", message);
      },
    };
  }

  function removeUploadRow(row) {
    row.remove();
    els.uploads.hidden = els.uploads.children.length === 0;
  }

  // One file per request: its own progress, and one too big is refused alone.
  function uploadOne(file, collection, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", DOCS_API);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
      });
      xhr.upload.addEventListener("load", () => onProgress(1));
      xhr.addEventListener("load", () => {
        const body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300 && body && Array.isArray(body.results)) {
          resolve(body.results[0] || { status: "failed", detail: "the server sent no result" });
          return;
        }
        if (xhr.status === 401) askForKey();
        const error = body && body.error;
        const message = typeof error === "string" ? error : (error && error.message) || `${xhr.status} ${xhr.statusText}`;
        reject(new ApiError(message, null, xhr.status));
      });
      xhr.addEventListener("error", () => {
        reject(new ApiError("the upload was cut off (the server may refuse files this large)"));
      });
      const form = new FormData();
      form.append("collection", collection);
      form.append("files", file, file.name);
      xhr.send(form);
    });
  }

  function refusal(file) {
    const limits = state.docLimits;
    if (!limits) return "";
    const dot = file.name.lastIndexOf(".");
    const suffix = dot > 0 ? file.name.slice(dot).toLowerCase() : "";
    if (limits.types.length && !limits.types.includes(suffix)) {
      return `${suffix || "files without an extension"} ${suffix ? "files are" : "are"} not supported (supported: ${limits.types.join(", ")})`;
    }
    const max = Math.min(limits.max_file_bytes || Infinity, (limits.max_body_bytes || Infinity) - 65536);
    if (file.size > max) return `${formatSize(file.size)} is over the limit of ${formatSize(max)}`;
    return "";
  }

  // Files go to this chat's own collection, which the chat then answers from, or, with a
  // target {collection, attach}, to a named one (attached to the chat when `attach`).
  // Answers {added, error}: whether any file went in, and the first request refused.
  async function uploadFiles(files, target) {
    if (!files.length) return { added: false, error: null };
    let collection;
    let attachTo = null; // the chat to attach the collection to: its id, or "" for a new chat
    if (target) {
      collection = target.collection;
      if (target.attach) attachTo = state.conversation ? state.conversation.id : "";
    } else {
      try {
        const conversation = await ensureConversation();
        renderDocBar();
        collection = `chat-${conversation.id}`;
        attachTo = conversation.id;
      } catch (error) {
        reportError(error);
        return { added: false, error };
      }
    }
    if (!state.docLimits) await loadCollections().catch(() => {});
    const rows = files.map((file) => uploadRow(file, target ? collection : null));
    let added = false;
    let refused = null;
    for (const [i, file] of files.entries()) {
      const row = rows[i];
      const problem = refusal(file);
      if (problem) {
        row.fail(problem);
        continue;
      }
      try {
        const result = await uploadOne(file, collection, (f) => row.progress(f));
        row.done(result);
        if (result.status !== "failed") added = true;
      } catch (error) {
        row.fail(error.message || String(error));
        refused = refused || error;
      }
    }
    if (!added) return { added, error: refused };
    try {
      const current = state.conversation ? state.conversation.id : "";
      if (attachTo === current && !attachedCollections().includes(collection)) {
        await setCollections([...attachedCollections(), collection]);
      }
      await refreshDocsMenu();
    } catch (error) {
      reportError(error);
    }
    return { added, error: refused };
  }

  function hasFiles(event) {
    return Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
  }

  let dragDepth = 0;

  function hideDropZone() {
    dragDepth = 0;
    els.dropZone.hidden = true;
  }

  function bindDrop() {
    els.chat.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragDepth += 1;
      els.dropZone.hidden = false;
    });
    els.chat.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      els.dropZone.hidden = false; // hidden while over a collection's row in the menu
    });
    els.chat.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      dragDepth = Math.max(0, dragDepth - 1);
      if (dragDepth === 0) hideDropZone();
    });
    els.chat.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      hideDropZone();
      uploadFiles(Array.from(event.dataTransfer.files || []));
    });
    // A file dropped elsewhere on the page must not replace the page.
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if (hasFiles(event)) event.preventDefault();
      });
    }
    window.addEventListener("dragend", hideDropZone);
  }

  // ------------------------------------------------------------------------ drawer

  function openDrawer() {
    els.app.classList.add("drawer-open");
    els.scrim.hidden = false;
    els.openSidebar.setAttribute("aria-expanded", "true");
    els.search.focus();
  }

  function closeDrawer() {
    if (!els.app.classList.contains("drawer-open")) return;
    els.app.classList.remove("drawer-open");
    els.scrim.hidden = true;
    els.openSidebar.setAttribute("aria-expanded", "false");
  }

  // ------------------------------------------------------------------------ import

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

  // ------------------------------------------------------------------------- start

  function bind() {
    els = {
      app: $("app"),
      sidebar: $("sidebar"),
      scrim: $("scrim"),
      convList: $("conv-list"),
      convEmpty: $("conv-empty"),
      search: $("search"),
      newChat: $("new-chat"),
      themeToggle: $("theme-toggle"),
      importFile: $("import-file"),
      openSidebar: $("open-sidebar"),
      closeSidebar: $("close-sidebar"),
      chatTitle: $("chat-title"),
      modelSelect: $("model-select"),
      fitBadge: $("fit-badge"),
      settingsToggle: $("settings-toggle"),
      settingsPanel: $("settings-panel"),
      settingsForm: $("settings-form"),
      settingsCancel: $("settings-cancel"),
      setSystem: $("set-system"),
      setTemperature: $("set-temperature"),
      setMaxTokens: $("set-max-tokens"),
      setNumCtx: $("set-num-ctx"),
      exportLinks: $("export-links"),
      exportJson: $("export-json"),
      exportMd: $("export-md"),
      scroller: $("scroller"),
      welcome: $("welcome"),
      messages: $("messages"),
      composer: $("composer"),
      prompt: $("prompt"),
      send: $("send"),
      stop: $("stop"),
      toasts: $("toasts"),
      chat: $("chat"),
      dropZone: $("drop-zone"),
      docsToggle: $("docs-toggle"),
      docAttached: $("doc-attached"),
      docsMenu: $("docs-menu"),
      docsCollections: $("docs-collections"),
      docsEmpty: $("docs-empty"),
      docsNewName: $("docs-new-name"),
      docsNewAdd: $("docs-new-add"),
      docsNewError: $("docs-new-error"),
      docsFile: $("docs-file"),
      uploads: $("uploads"),
      attach: $("attach"),
      attachFile: $("attach-file"),
      passage: $("passage"),
      passageTitle: $("passage-title"),
      passageWhere: $("passage-where"),
      passagePath: $("passage-path"),
      passageText: $("passage-text"),
      passageClose: $("passage-close"),
    };
    applyTheme(currentTheme());

    els.themeToggle.addEventListener("click", () => {
      const next = currentTheme() === "dark" ? "light" : "dark";
      try {
        localStorage.setItem(THEME_KEY, next);
      } catch {
        /* private mode: the choice lasts for this page */
      }
      applyTheme(next);
    });
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
    els.modelSelect.addEventListener("change", changeModel);
    els.settingsToggle.addEventListener("click", () => {
      if (els.settingsPanel.hidden) openSettings();
      else closeSettings();
    });
    els.settingsCancel.addEventListener("click", closeSettings);
    els.settingsForm.addEventListener("submit", saveSettings);
    els.importFile.addEventListener("change", () => {
      const file = els.importFile.files[0];
      els.importFile.value = "";
      if (file) importFile(file);
    });

    els.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      sendPrompt();
    });
    els.prompt.addEventListener("input", () => {
      autosize(els.prompt);
      renderComposer();
    });
    els.prompt.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendPrompt();
      }
    });
    els.stop.addEventListener("click", stopStream);
    els.attach.addEventListener("click", () => els.attachFile.click());
    els.attachFile.addEventListener("change", () => {
      const files = Array.from(els.attachFile.files || []);
      els.attachFile.value = "";
      uploadFiles(files);
    });
    els.docsToggle.addEventListener("click", () => {
      if (els.docsMenu.hidden) openDocsMenu();
      else closeDocsMenu();
    });
    els.docsNewAdd.addEventListener("click", startNewCollection);
    els.docsNewName.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault(); // not the composer's submit
      startNewCollection();
    });
    els.docsNewName.addEventListener("input", () => {
      if (!els.docsNewError.hidden) showNewCollectionError("");
    });
    els.docsFile.addEventListener("change", uploadPicked);
    els.passageClose.addEventListener("click", closePassage);
    els.passage.addEventListener("close", () => {
      state.passageShown = null;
    });
    els.passage.addEventListener("click", (event) => {
      if (event.target === els.passage) closePassage(); // the backdrop
    });
    bindDrop();
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      if (els.passage.open) return; // the dialog closes itself
      if (!els.docsMenu.hidden) {
        closeDocsMenu();
      } else if (state.stream) {
        event.preventDefault();
        stopStream();
      } else if (!els.settingsPanel.hidden) {
        closeSettings();
      } else {
        closeDrawer();
      }
    });
    window.addEventListener("hashchange", () => {
      const id = routeId();
      if (id && (!state.conversation || state.conversation.id !== id)) {
        openConversation(id).catch(reportError);
      } else if (!id && state.conversation) {
        newChat();
      }
    });
  }

  // Signed in with a key (a server that needs one): offer to sign out.
  async function showSignOut() {
    const session = await api("/session");
    const button = document.getElementById("sign-out");
    button.hidden = !session.signed_in;
    button.onclick = async () => {
      await api("/logout", { method: "POST" });
      window.location.reload();
    };
  }

  async function start() {
    bind();
    renderAll();
    const id = routeId();
    const loads = [
      loadModels().catch(reportError),
      loadConversations().catch(reportError),
      showSignOut().catch(() => {}), // a 401 already asks for the key
    ];
    if (id) {
      loads.push(
        openConversation(id).catch((error) => {
          if (error.status === 404) setRoute(null);
          reportError(error);
        }),
      );
    }
    await Promise.all(loads);
    renderAll({ scroll: "bottom" });
    document.documentElement.dataset.ready = "true";
    els.prompt.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
