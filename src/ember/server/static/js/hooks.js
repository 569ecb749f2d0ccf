// The few calls that go up the layers of modules. Imports point one way: state.js, dom.js
// and api.js at the bottom, the features above them, main.js at the top; a module that
// must call a function of one above it (messages.js asking chat.js to regenerate, say)
// calls it here instead of importing it, which would close a ring of imports.
// main.js points every hook at its function before anything runs; sealed, so a hook
// misspelt there fails at once.
export const hooks = Object.seal({
  showView: null, // conversations.js: show a conversation (messages.js, another branch)
  editMessage: null, // chat.js: send an edited message (messages.js)
  regenerate: null, // chat.js: write an answer again (messages.js)
  continueAnswer: null, // chat.js: write more of an answer cut at its limit (messages.js)
  followLive: null, // chat.js: follow an answer being written (conversations.js)
  renderComposer: null, // chat.js: Send or Stop (conversations.js)
  stopStream: null, // chat.js: stop the answer being written (conversations.js)
  leaveStream: null, // chat.js: stop following it; it goes on (conversations.js)
  uploadFiles: null, // uploads.js: upload into a collection (documents.js)
  hideDropZone: null, // uploads.js: the drop zone away (documents.js)
});
