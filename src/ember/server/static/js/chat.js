// The composer and the answers being written: send, edit or regenerate, then follow the
// server-sent events of the answer as it streams; Stop.
import { API, els, state } from "./state.js";
import { autosize, el, toast } from "./dom.js";
import { api, changeHeaders, errorOf, reportError } from "./api.js";
import {
  loadConversations,
  refreshListQuietly,
  renderHeader,
  setRoute,
  showView,
} from "./conversations.js";
import { setAnswerHtml } from "./markdown.js";
import { isNearBottom, renderMessages, scrollToBottom } from "./messages.js";

const TITLE_REFRESH_MS = [2500, 6000];

export function renderComposer() {
  const busy = Boolean(state.stream);
  els.send.hidden = busy;
  els.stop.hidden = !busy;
  els.send.disabled = busy || !els.prompt.value.trim();
}

export async function ensureConversation() {
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

export function editMessage(message, content) {
  const at = state.messages.findIndex((m) => m.id === message.id);
  const pending = { ...message, id: "pending-user", content, siblings: [] };
  runStream(`/conversations/${state.conversation.id}/messages/${message.id}/edit`, { content }, at, pending, null);
}

// `confirmCloud`: the user said yes to sending this answer to the cloud (policy "ask");
// `useCloud`: the user asks the cloud model to answer ("Ask the cloud" under an answer).
export function regenerate(message, options) {
  if (state.stream || !state.conversation) return;
  const at = state.messages.findIndex((m) => m.id === message.id);
  const body = {};
  if (options && options.confirmCloud) body.confirm_cloud = true;
  if (options && options.useCloud) body.use_cloud = true;
  runStream(`/conversations/${state.conversation.id}/messages/${message.id}/regenerate`, body, at, null, null);
}

// An answer cut at its length limit: the model goes on in the same message.
export function continueAnswer(message) {
  if (state.stream || !state.conversation) return;
  const at = state.messages.findIndex((m) => m.id === message.id);
  runStream(`/conversations/${state.conversation.id}/messages/${message.id}/continue`, {}, at + 1, null, null);
}

// A conversation opened while its answer is being written (a reload, another tab, back
// from another chat): follow that answer's stream from its start, word by word.
export function followLive(conversationId) {
  if (state.stream) return;
  runStream(`/conversations/${conversationId}/live`, null, state.messages.length, null, null);
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
  let lost = false; // the connection went, not the answer

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
    body.querySelector(".reading")?.remove();
    if (stick) scrollToBottom();
  };

  // A long prompt being read: how far, instead of dots that say nothing.
  const showProgress = (data) => {
    if (!answerNode || !data.total) return;
    const body = answerNode.querySelector(".msg-body");
    if (!body || state.stream.text) return;
    const percent = Math.min(99, Math.floor((100 * data.read) / data.total));
    let reading = body.querySelector(".reading");
    if (!reading) {
      body.querySelector(".typing")?.remove();
      reading = el("span", { class: "reading", role: "status" });
      body.append(reading);
    }
    reading.textContent = `Reading your message… ${percent}%`;
  };

  try {
    // body null: follow an answer already running (GET), else start one (POST).
    const init = body === null
      ? { method: "GET", headers: { Accept: "text/event-stream" } }
      : {
          method: "POST",
          headers: changeHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
          body: JSON.stringify(body),
        };
    const response = await fetch(API + path, { ...init, signal: controller.signal });
    if (!response.ok) throw await errorOf(response);
    if (response.status === 204) {
      lost = true; // nothing running any more: show the conversation as stored
      stored = true;
      return;
    }
    for await (const event of sseEvents(response)) {
      const data = event.data;
      if (event.name === "start") {
        stored = true;
        if (data.user) {
          state.messages = state.messages.filter((m) => m.id !== "pending-user");
          replaceMessage(data.user);
        }
        replaceMessage(data.assistant);
        state.stream.assistantId = data.assistant.id;
        state.stream.text = data.assistant.content || ""; // a continued answer's start
        state.stream.pending = "";
        renderMessages({ scroll: "bottom" });
        answerNode = els.messages.querySelector(`[data-id="${CSS.escape(data.assistant.id)}"]`);
        tail = null;
      } else if (event.name === "delta") {
        showDelta(data);
      } else if (event.name === "progress") {
        showProgress(data);
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
    if (error.name !== "AbortError") reportError(error);
  } finally {
    // Stopped here: incomplete. Left (another conversation) or the connection lost: the
    // server's answer runs on, and the conversation, shown again, follows it.
    const s = state.stream;
    const aborted = (controller.signal.aborted || Boolean(s.stopping)) && !s.leaving;
    if (!finished) {
      const message = state.messages.find((m) => m.id === s.assistantId);
      if (message && aborted && message.status === "streaming") message.status = "incomplete";
      // The words that came after the last render stay shown until the stored answer is.
      if (message && s.pending) message.pendingText = s.pending;
    }
    if (!finished && !aborted && !s.leaving && stored) lost = true;
    if (lost && body === null) state.detached = conversationId; // no following again at once
    const stoppedId = aborted ? s.assistantId : null;
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
    if ((finished || lost) && !aborted) {
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

// Another conversation or a new chat: stop following the answer, which goes on.
export function leaveStream() {
  if (!state.stream) return;
  state.stream.leaving = true;
  state.stream.controller.abort();
}

// The server's answer outlives this page's stream (a reload does not stop it): Stop
// tells the server, then stops following.
export function stopStream() {
  if (!state.stream) return;
  const { controller, conversationId } = state.stream;
  state.stream.stopping = true;
  api(`/conversations/${conversationId}/stop`, { method: "POST" })
    .catch(() => {})
    .finally(() => controller.abort());
}

export function bindComposer() {
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
}
