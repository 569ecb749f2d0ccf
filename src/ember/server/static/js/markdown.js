// A model's answer as the server rendered it (Markdown to sanitised HTML): put into the
// page, with a Copy button on code blocks, scrolling tables and citation buttons.
import { copyText, el, icon } from "./dom.js";
import { decorateCitations } from "./citations.js";

// The one place HTML from outside the page's own code enters it: the server's rendering
// of a model answer, already sanitised against an allow-list (server/markdown.py).
export function setAnswerHtml(body, html, citations) {
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
