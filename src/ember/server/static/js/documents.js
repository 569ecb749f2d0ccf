// Documents a chat answers from: the bar of attached collections above the composer and
// the Documents menu (collections, their documents, new collections, deleting).
import { els, state } from "./state.js";
import { el, hasFiles, icon, iconButton, plural } from "./dom.js";
import { api, docsApi, reportError } from "./api.js";
import { hooks } from "./hooks.js";
import { currentSettings } from "./settings.js";

function chatCollection() {
  return state.conversation ? `chat-${state.conversation.id}` : null;
}

function collectionLabel(name) {
  return name === chatCollection() ? "Files of this chat" : name;
}

export function attachedCollections() {
  const { settings } = currentSettings();
  const names = settings && settings.collections;
  return Array.isArray(names) ? names.filter((n) => typeof n === "string") : [];
}

export function renderDocBar() {
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
export async function setCollections(names) {
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

export async function loadCollections() {
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
export async function refreshDocsMenu() {
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
    hooks.hideDropZone();
    hooks.uploadFiles(Array.from(event.dataTransfer.files || []), { collection: name, attach: false });
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
  const outcome = await hooks.uploadFiles(files, target);
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

export function closeDocsMenu() {
  els.docsMenu.hidden = true;
  els.docsToggle.setAttribute("aria-expanded", "false");
  state.confirmingCollection = null;
}

export function bindDocuments() {
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
}
