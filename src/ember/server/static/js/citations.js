// Citations in answers from documents, the sources listed under them, and the dialog
// that shows a cited passage.
import { els, state } from "./state.js";
import { el } from "./dom.js";
import { ApiError, docsApi } from "./api.js";

// An answer from documents carries meta.citations: [{n, chunk_id, path, title, page,
// heading, collection, text}]. Its markers ([1], [1][2]) become buttons that open the
// passage, and the sources are listed under the answer.
const CITE_MARK = /\[(\d{1,3})\]/g;

export function citationsOf(message) {
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

export function decorateCitations(body, citations) {
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

export function sourcesNode(citations) {
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

export function bindPassage() {
  els.passageClose.addEventListener("click", closePassage);
  els.passage.addEventListener("close", () => {
    state.passageShown = null;
  });
  els.passage.addEventListener("click", (event) => {
    if (event.target === els.passage) closePassage(); // the backdrop
  });
}
