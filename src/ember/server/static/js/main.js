// Ember's chat page: plain JavaScript modules, no build step, no third-party code.
//
// Everything lives on the server (/ember/api): this page only shows it. Model answers
// arrive as sanitised HTML rendered by the server (the `html` field) and are the only
// thing ever assigned to innerHTML (markdown.js); everything else (user text, titles,
// errors, tool output) is set with textContent.
//
// The modules, one job each: state.js (shared state and elements), dom.js (building
// nodes, formatting), api.js (requests, errors, sign-in), theme.js, conversations.js
// (the sidebar, opening a chat, the address), messages.js (the shown branch), chat.js
// (the composer and streaming), markdown.js (answers' HTML), citations.js (sources and
// the passage dialog), models.js (the picker), settings.js, documents.js (the Documents
// menu and collections), uploads.js, account.js (your keys and password, the admins'
// accounts view), hooks.js (the few calls that go up the layers);
// this one finds the elements, binds them and starts.
//
// Imports point one way, never in a ring (tests/ui/test_js_modules.py checks): state.js,
// dom.js and api.js at the bottom, the features above them (conversations.js imports
// messages.js and documents.js, chat.js imports conversations.js, uploads.js imports
// chat.js), this module at the top. The few calls that go up the other way go through
// hooks.js, which this module fills in before anything runs.
import { els, state } from "./state.js";
import { loadSession, reportError, showSignOut } from "./api.js";
import {
  bindComposer,
  continueAnswer,
  editMessage,
  followLive,
  leaveStream,
  regenerate,
  renderComposer,
  stopStream,
} from "./chat.js";
import { bindPassage } from "./citations.js";
import { bindAccount } from "./account.js";
import { bindCloudLog } from "./cloudlog.js";
import { bindWorkers } from "./workers.js";
import {
  bindConversations,
  closeDrawer,
  loadConversations,
  newChat,
  openConversation,
  renderAll,
  routeId,
  setRoute,
  showView,
} from "./conversations.js";
import { bindDocuments, closeDocsMenu } from "./documents.js";
import { hooks } from "./hooks.js";
import { bindModels, loadModels } from "./models.js";
import { bindSettings, closeSettings } from "./settings.js";
import { bindTheme } from "./theme.js";
import { bindUploads, hideDropZone, uploadFiles } from "./uploads.js";

// The calls that go up the layers (see hooks.js), pointed at their functions.
Object.assign(hooks, {
  showView,
  editMessage,
  regenerate,
  continueAnswer,
  followLive,
  renderComposer,
  stopStream,
  leaveStream,
  uploadFiles,
  hideDropZone,
});

const $ = (id) => document.getElementById(id);

function bind() {
  Object.assign(els, {
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
  });
  bindTheme();
  bindConversations();
  bindModels();
  bindSettings();
  bindComposer();
  bindUploads();
  bindDocuments();
  bindPassage();
  bindCloudLog();
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (els.passage.open || document.getElementById("cloud-log").open) return; // dialogs close themselves
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

async function start() {
  bind();
  renderAll();
  await loadSession().catch(() => {}); // before anything changes: the CSRF token
  bindAccount();
  const id = routeId();
  const loads = [
    loadModels().catch(reportError),
    loadConversations().catch(reportError),
    showSignOut().catch(() => {}), // a 401 already asks for the key
    bindWorkers(),
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

// A module script runs once the document is parsed (like a deferred one): no need to
// wait for DOMContentLoaded.
start();
