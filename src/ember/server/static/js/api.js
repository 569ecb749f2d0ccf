// Requests to the server: Ember's own API for the page (/ember/api) and the documents API
// (/api/documents), their errors, and signing in and out when the server needs a key.
import { API, DOCS_API } from "./state.js";
import { toast } from "./dom.js";

export class ApiError extends Error {
  constructor(message, hint, status) {
    super(message);
    this.hint = hint;
    this.status = status;
  }
}

// A server that needs an API key answers the page's calls with 401: ask for the key
// once; the server keeps it in an HttpOnly cookie (POST /ember/api/login).
export function askForKey() {
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

export async function errorOf(response, signIn = true) {
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

export const api = (path, options) => request(API + path, options);

export const docsApi = (path, options) => request(DOCS_API + path, options);

export function reportError(error) {
  if (error && error.name === "AbortError") return;
  console.error(error);
  toast(error.message || String(error), error.hint);
}

// Signed in with a key (a server that needs one): offer to sign out.
export async function showSignOut() {
  const session = await api("/session");
  const button = document.getElementById("sign-out");
  button.hidden = !session.signed_in;
  button.onclick = async () => {
    await api("/logout", { method: "POST" });
    window.location.reload();
  };
}
