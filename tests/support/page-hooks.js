// Put at the top of every HTML page the test server sends to Firefox and WebKit (which WebDriver
// drives without Playwright's page events): records uncaught errors, unhandled rejections and
// dialogs (alert/confirm/prompt are answered as dismissed, as Playwright's tests have them), for
// `page.uncaughtErrors` and `page.dialogs`. A classic script that removes itself, so the page's
// DOM is as the page made it.
(() => {
  const hooks = (window.__testHooks = { errors: [], dialogs: [] });
  addEventListener("error", (e) => {
    if (e.error !== undefined || e.message) hooks.errors.push(String(e.error ?? e.message));
  });
  addEventListener("unhandledrejection", (e) => hooks.errors.push(String(e.reason)));
  const dismiss = (type, answer) => (message) => {
    hooks.dialogs.push(`${type}: ${message ?? ""}`);
    return answer;
  };
  window.alert = dismiss("alert", undefined);
  window.confirm = dismiss("confirm", false);
  window.prompt = dismiss("prompt", null);
  document.currentScript?.remove();
})();
