// The playground's controls: which form or button runs which action. The actions (app.js) talk
// to the store; here is only what a control adds: reading its fields, clearing them after.
import * as view from "./view.js";

const $ = (selector) => document.querySelector(selector);

/**
 * Wires every control to `actions`: `act(name, fn)` runs one action at a time and shows its
 * failure; the others are the actions themselves; `currentName()` is the open session's name.
 */
export function wire(actions) {
  const { act } = actions;
  /** Submitting `form` runs `fn(form)` as action `action`. */
  const onSubmit = (selector, action, fn) => {
    $(selector).addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      act(action, () => fn(form));
    });
  };

  onSubmit("#create-form", "Create", actions.create);
  onSubmit("#search-form", "Search", (form) => actions.search(form.elements.query.value));
  $("#tag-filter").addEventListener("change", () => act("Filter", actions.refreshList));
  onSubmit("#composer", "Send", async (form) => {
    const box = form.elements.text;
    const text = box.value;
    if (!text.trim()) return;
    box.value = ""; // cleared now, so what is typed while the reply streams is kept
    let stored = false;
    view.setStreaming(true);
    try {
      await actions.send(text, () => (stored = true));
    } catch (error) {
      if (!stored && !box.value) box.value = text; // not lost: the person can send it again
      throw error;
    } finally {
      view.setStreaming(false);
    }
    box.focus();
  });
  $("#composer textarea").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#composer").requestSubmit();
  });
  onSubmit("#fork-form", "Fork", async (form) => {
    await actions.fork(form.elements.name.value);
    form.elements.name.value = "";
  });
  onSubmit("#rewind-form", "Rewind", (form) => actions.rewind(Number(form.elements.turn.value)));
  onSubmit("#tag-form", "Tag", async (form) => {
    await actions.tag(form.elements.tags.value);
    form.elements.tags.value = "";
  });
  $("#rename-start").addEventListener("click", () => view.editName(true, actions.currentName()));
  $("#rename-cancel").addEventListener("click", () => view.editName(false));
  $("#rename-form input").addEventListener("keydown", (event) => {
    if (event.key === "Escape") view.editName(false);
  });
  onSubmit("#rename-form", "Rename", (form) => actions.rename(form.elements.name.value));
  $("#delete").addEventListener("click", () => view.confirmDelete(true));
  $("#delete-no").addEventListener("click", () => view.confirmDelete(false));
  $("#delete-yes").addEventListener("click", () => act("Delete", actions.remove));
  $("#error-dismiss").addEventListener("click", () => view.clearError());
  $("#export-all").addEventListener("click", () => act("Export", () => actions.exportFile(false)));
  $("#export-session").addEventListener("click", () => act("Export", () => actions.exportFile(true)));
  $("#import-file").addEventListener("change", (event) => {
    const input = event.currentTarget;
    const [file] = input.files;
    input.value = ""; // the same file can be picked again
    if (file) act("Import", () => actions.importFile(file, $("#import-conflict").value));
  });
  setInterval(view.refreshTimes, 30_000);
}
