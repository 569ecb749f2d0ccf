// Uploading files to be indexed: the paperclip, files dropped on the page, one request per
// file with its own progress row.
import { DOCS_API, els, state } from "./state.js";
import { el, formatSize, hasFiles, icon, iconButton } from "./dom.js";
import { ApiError, askForKey, changeHeaders, reportError } from "./api.js";
import { ensureConversation } from "./chat.js";
import {
  attachedCollections,
  loadCollections,
  refreshDocsMenu,
  renderDocBar,
  setCollections,
} from "./documents.js";

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
    for (const [name, value] of Object.entries(changeHeaders())) xhr.setRequestHeader(name, value);
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
export async function uploadFiles(files, target) {
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

let dragDepth = 0;

export function hideDropZone() {
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

export function bindUploads() {
  els.attach.addEventListener("click", () => els.attachFile.click());
  els.attachFile.addEventListener("change", () => {
    const files = Array.from(els.attachFile.files || []);
    els.attachFile.value = "";
    uploadFiles(files);
  });
  bindDrop();
}
