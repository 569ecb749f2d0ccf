// What the page knows, shared by its modules: `state` (the open conversation, its
// messages, the answer being streamed, the documents menu…) and `els`, the page's
// elements by name, filled in by main.js once the document is parsed.
//
// Everything lives on the server (/ember/api): this page only shows it.

export const API = "/ember/api";
export const DOCS_API = "/api/documents";

export const state = {
  conversations: [],
  conversation: null, // the open conversation (null: a new chat not yet created)
  messages: [], // the shown branch, root to tip (message views)
  models: [],
  defaultModel: null,
  draft: { model: null, system: null, settings: {} }, // settings of a chat not yet created
  stream: null, // {controller, conversationId, assistantId}
  searchQuery: "",
  pollTimer: null,
  detached: null, // a conversation whose running answer could not be followed: polled
  modelsTimer: null, // re-reads the models while one is loading
  stopped: new Set(), // answers stopped here: incomplete, whatever the server says yet
  collections: [], // the document collections on the server: {name, documents}
  docLimits: null, // {max_file_bytes, max_body_bytes, types} from the server
  docsOpen: new Set(), // collections whose documents the menu shows
  docsOf: new Map(), // their documents, as GET /api/documents lists them
  confirmingCollection: null, // the collection whose deletion is being confirmed
  uploadTarget: null, // where the menu's file picker uploads: {collection, attach, named}
  passageShown: null, // the citation whose passage is open
  openSteps: new Set(), // tool-step blocks opened here (by their first message's id)
};

export const els = {};
