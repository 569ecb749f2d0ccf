// Accounts in the page, shown only when the server has them: "Your account" (your API
// keys and password, for everyone signed in) and "Accounts" (add, change and remove
// users, for admins). The server checks every rule again (routes_users.py); this is
// the view.
import { el, toast } from "./dom.js";
import { api, currentSession, reportError, setCsrf } from "./api.js";

const $ = (id) => document.getElementById(id);

function closable(id) {
  const dialog = $(id);
  $(`${id}-close`).addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // the backdrop
  });
  return dialog;
}

export function bindAccount() {
  const session = currentSession();
  const user = session.accounts && session.signed_in ? session.user : null;
  if (!user) return;
  closable("account");
  closable("users");
  const open = $("account-open");
  open.hidden = false;
  $("account-name").textContent = user.name;
  open.addEventListener("click", () => openAccount(user).catch(reportError));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createKey().catch(reportError);
  });
  $("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    changePassword().catch(reportError);
  });
  if (user.role !== "admin") return;
  const users = $("users-open");
  users.hidden = false;
  users.addEventListener("click", () => openUsers().catch(reportError));
  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addUser().catch(reportError);
  });
}

// ------------------------------------------------------------ your account

async function openAccount(user) {
  $("account-who").textContent = `Signed in as ${user.name} (${user.role}).`;
  $("key-made").hidden = true;
  await showKeys();
  const dialog = $("account");
  if (!dialog.open) dialog.showModal();
}

async function showKeys() {
  const { keys } = await api("/keys");
  const active = keys.filter((k) => !k.revoked_at);
  $("account-keys").replaceChildren(
    active.length
      ? table(
          ["Name", "Starts with", "Made", "Last used", ""],
          active.map((k) =>
            el(
              "tr",
              { class: "api-key" },
              el("td", { text: k.name || "–" }),
              el("td", {}, el("code", { text: `${k.prefix}…` })),
              el("td", { text: day(k.created_at) }),
              el("td", { text: k.last_used_at ? day(k.last_used_at) : "never" }),
              el(
                "td",
                {},
                el("button", {
                  type: "button",
                  class: "btn small btn-danger",
                  text: "Revoke",
                  onclick: () => revokeKey(k).catch(reportError),
                }),
              ),
            ),
          ),
        )
      : el("p", { class: "notice", text: "No API keys yet." }),
  );
}

async function createKey() {
  const name = $("key-name").value.trim();
  const made = await api("/keys", { method: "POST", json: name ? { name } : {} });
  $("key-name").value = "";
  const shown = $("key-made");
  shown.replaceChildren(
    el("p", { class: "passage-where", text: "Copy it now: it is not shown again." }),
    el("code", { class: "key-secret", id: "key-secret", text: made.key }),
  );
  shown.hidden = false;
  await showKeys();
}

async function revokeKey(key) {
  if (!window.confirm(`Revoke the key ${key.name || key.prefix}? Clients using it stop working.`)) return;
  await api(`/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
  await showKeys();
}

async function changePassword() {
  const current = $("password-current").value;
  const next = $("password-new").value;
  if (next !== $("password-again").value) {
    toast("The new passwords differ", "type the same one twice");
    return;
  }
  const changed = await api("/account/password", {
    method: "POST",
    json: { current_password: current, new_password: next },
  });
  setCsrf(changed.csrf); // the server started a new session for this page
  $("password-form").reset();
  toast("Password changed", "you were signed out everywhere else", "info");
}

// ------------------------------------------------------------ accounts (admins)

async function openUsers() {
  await showUsers();
  const dialog = $("users");
  if (!dialog.open) dialog.showModal();
}

async function showUsers() {
  const { users, defaults } = await api("/users");
  const me = currentSession().user;
  $("users-body").replaceChildren(
    table(
      ["Name", "Role", "Answers / minute", "Tokens / day", "Cloud", "Tokens today", ""],
      users.map((u) => userRow(u, defaults, u.id === me.id)),
    ),
  );
}

function userRow(user, defaults, isMe) {
  const role = el(
    "select",
    { "aria-label": `Role of ${user.name}`, onchange: () => change(user, { role: role.value }) },
    ...["user", "admin"].map((r) => el("option", { value: r, text: r, selected: r === user.role })),
  );
  return el(
    "tr",
    { class: "user-row", dataset: { name: user.name } },
    el("td", { text: isMe ? `${user.name} (you)` : user.name }),
    el("td", {}, role),
    el("td", {}, limitInput(user, "rate_limit_per_minute", defaults.rate_limit_per_minute)),
    el("td", {}, limitInput(user, "daily_token_quota", defaults.daily_token_quota)),
    el("td", {}, cloudSelect(user, defaults.cloud_policy)),
    el("td", { text: String(user.tokens_today) }),
    el(
      "td",
      {},
      el("button", {
        type: "button",
        class: "btn small",
        text: "Set password",
        onclick: () => setPassword(user).catch(reportError),
      }),
      isMe
        ? null
        : el("button", {
            type: "button",
            class: "btn small btn-danger",
            text: "Remove",
            onclick: () => removeUser(user).catch(reportError),
          }),
    ),
  );
}

// A user's own limit; empty is the server's setting (shown as the placeholder).
function limitInput(user, field, fallback) {
  const input = el("input", {
    type: "number",
    min: "0",
    "aria-label": `${field === "daily_token_quota" ? "Tokens per day" : "Answers per minute"} for ${user.name}`,
    placeholder: fallback ? String(fallback) : "no limit",
    value: user[field] === null ? "" : String(user[field]),
  });
  input.addEventListener("change", () => {
    const value = input.value.trim();
    change(user, { [field]: value === "" ? null : Number(value) });
  });
  return input;
}

// The most the user may send to a cloud model; "" is the server's cloud_policy.
function cloudSelect(user, fallback) {
  const choices = [["", `the setting (${fallback})`], ["local-only", "local-only"], ["ask", "ask"], ["auto", "auto"]];
  const select = el(
    "select",
    { "aria-label": `Cloud policy of ${user.name}` },
    ...choices.map(([value, text]) =>
      el("option", { value, text, selected: (user.cloud_policy || "") === value }),
    ),
  );
  select.addEventListener("change", () => change(user, { cloud_policy: select.value || null }));
  return select;
}

function change(user, fields) {
  api(`/users/${encodeURIComponent(user.id)}`, { method: "PATCH", json: fields })
    .then(() => toast(`${user.name} changed`, null, "info"))
    .catch((error) => {
      reportError(error);
      showUsers().catch(reportError); // back to what the server holds
    });
}

async function setPassword(user) {
  const password = window.prompt(`A new password for ${user.name} (8 characters or more). Their sessions end.`);
  if (!password) return;
  await api(`/users/${encodeURIComponent(user.id)}`, { method: "PATCH", json: { password } });
  toast(`New password for ${user.name}`, "they were signed out everywhere", "info");
}

async function removeUser(user) {
  if (!window.confirm(`Remove ${user.name} with their conversations, keys and documents?`)) return;
  await api(`/users/${encodeURIComponent(user.id)}`, { method: "DELETE" });
  await showUsers();
}

async function addUser() {
  const json = {
    name: $("user-name").value.trim(),
    password: $("user-password").value,
    role: $("user-role").value,
  };
  await api("/users", { method: "POST", json });
  $("user-form").reset();
  await showUsers();
}

// ------------------------------------------------------------ helpers

function table(columns, rows) {
  return el(
    "table",
    { class: "cloud-log-table" },
    el("thead", {}, el("tr", {}, ...columns.map((t) => el("th", { text: t })))),
    el("tbody", {}, ...rows),
  );
}

const day = (stamp) => (stamp || "").slice(0, 10);
