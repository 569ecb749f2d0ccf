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

// What the server said of this page's session (GET /ember/api/session, loaded first):
// whether accounts are on, who is signed in, and the CSRF token every change carries.
const session = { accounts: false, signed_in: false, user: null, csrf: null };

// The session as the server last described it (read-only for the other modules).
export const currentSession = () => session;

// A new CSRF token, after the server started a new session (a password change).
export function setCsrf(token) {
  session.csrf = token;
}

export async function loadSession() {
  const response = await fetch(`${API}/session`);
  if (response.ok) Object.assign(session, await response.json());
  return session;
}

// Headers for a request that changes something: the session's CSRF token.
export function changeHeaders(headers) {
  return session.csrf ? { ...(headers || {}), "X-CSRF-Token": session.csrf } : { ...(headers || {}) };
}

// A server that needs credentials answers the page's calls with 401: ask once, for a
// name and password when accounts are on (POST /ember/api/signin), else for an API key
// (POST /ember/api/login); the server keeps either in an HttpOnly cookie.
export function askForKey() {
  const dialog = document.getElementById("login");
  if (!dialog || dialog.open) return;
  const form = document.getElementById("login-form");
  const accounts = Boolean(session.accounts);
  for (const id of ["login-name-field", "login-password-field", "login-account-text"]) {
    document.getElementById(id).hidden = !accounts;
  }
  document.getElementById("login-key-field").hidden = accounts;
  document.getElementById("login-key-text").hidden = accounts;
  const name = document.getElementById("login-name");
  const password = document.getElementById("login-password");
  const key = document.getElementById("login-key");
  name.required = password.required = accounts;
  key.required = !accounts;
  const error = document.getElementById("login-error");
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.hidden = true;
    const [path, body] = accounts
      ? ["/signin", { name: name.value, password: password.value }]
      : ["/login", { key: key.value }];
    const response = await fetch(`${API}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      window.location.reload();
      return;
    }
    const problem = await errorOf(response, false);
    error.textContent = problem.message;
    error.hidden = false;
    (accounts ? password : key).select();
  };
  dialog.showModal();
  (accounts ? name : key).focus();
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
  if (init.method !== "GET") init.headers = changeHeaders(init.headers);
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

// Signed in (an account, or a key on a server that needs one): offer to sign out.
export async function showSignOut() {
  const button = document.getElementById("sign-out");
  button.hidden = !session.signed_in;
  if (session.user) button.title = `Signed in as ${session.user.name}`;
  button.onclick = async () => {
    await api(session.accounts ? "/signout" : "/logout", { method: "POST" });
    window.location.reload();
  };
}
