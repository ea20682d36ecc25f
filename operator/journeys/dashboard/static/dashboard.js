// The dashboard's only script (no inline script: the Content-Security-Policy forbids it).
// - live: one EventSource; a "changed" notice that concerns this page re-fetches its live
//   region (one fetch at a time, the latest notice wins), keeping keyboard focus in place;
// - the Actions drop-down (a WAI-ARIA menu button);
// - the confirmation dialog (a native <dialog>: modal, Esc closes it, focus returns).
// All HTML inserted here was rendered and escaped by the server; cluster text set from JSON
// goes through textContent.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const region = document.getElementById("live-region");
  const liveStatus = document.getElementById("live-status");

  // ---------------------------------------------------------------------------------------
  // Live refresh
  // ---------------------------------------------------------------------------------------

  let fetching = false;
  let again = false;
  let menuOpen = false;

  function concerns(notice) {
    if (!region) return false;
    const watch = (region.dataset.watch || "").split(" ").filter(Boolean);
    if (notice.all || watch.includes("*")) return notice.all || notice.journeys.length > 0;
    return notice.journeys.some((k) => watch.includes(k));
  }

  function focusSignature() {
    const el = document.activeElement;
    if (!el || !region || !region.contains(el)) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.dataset.action) {
      return `[data-action="${CSS.escape(el.dataset.action)}"][data-name="${CSS.escape(el.dataset.name)}"]`;
    }
    return null;
  }

  async function refresh() {
    if (!region) return;
    if (fetching || menuOpen) {
      again = true;
      return;
    }
    fetching = true;
    try {
      const response = await fetch(region.dataset.fragment, { credentials: "same-origin" });
      if (response.status === 401) {
        setLive("ended", "Signed out: open the printed URL again");
        return;
      }
      const html = await response.text();
      const signature = focusSignature();
      region.innerHTML = html;
      setupMenu();
      if (signature) {
        const target = region.querySelector(signature);
        if (target) target.focus();
      }
      document.dispatchEvent(new CustomEvent("dashboard:refreshed"));
    } catch (error) {
      setLive("offline", "Dashboard unreachable");
    } finally {
      fetching = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function setLive(state, text) {
    if (!liveStatus) return;
    liveStatus.dataset.state = state;
    liveStatus.textContent = text;
  }

  function connect() {
    const source = new EventSource("/live");
    source.addEventListener("open", () => setLive("live", "Live"));
    source.addEventListener("error", () => setLive("offline", "Reconnecting…"));
    source.addEventListener("changed", (event) => {
      const notice = JSON.parse(event.data);
      if (notice.status === "unreachable") setLive("offline", "API server unreachable");
      else if (notice.status === "forbidden") setLive("offline", "Watch forbidden");
      else if (notice.status) setLive("live", "Live");
      if (concerns(notice)) refresh();
    });
  }

  // ---------------------------------------------------------------------------------------
  // The Actions menu (menu button pattern)
  // ---------------------------------------------------------------------------------------

  function setupMenu() {
    const button = document.getElementById("actions-button");
    const list = document.getElementById("actions-menu");
    if (!button || !list) return;
    const items = () => Array.from(list.querySelectorAll('[role="menuitem"]'));

    function open(focusLast) {
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      menuOpen = true;
      const all = items();
      if (all.length) all[focusLast ? all.length - 1 : 0].focus();
    }
    function close(returnFocus) {
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      menuOpen = false;
      if (returnFocus) button.focus();
      if (again) {
        again = false;
        refresh();
      }
    }
    button.addEventListener("click", () => (list.hidden ? open(false) : close(true)));
    button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        open(event.key === "ArrowUp");
      }
    });
    list.addEventListener("keydown", (event) => {
      const all = items();
      const at = all.indexOf(document.activeElement);
      if (event.key === "ArrowDown") all[(at + 1) % all.length].focus();
      else if (event.key === "ArrowUp") all[(at - 1 + all.length) % all.length].focus();
      else if (event.key === "Home") all[0].focus();
      else if (event.key === "End") all[all.length - 1].focus();
      else if (event.key === "Escape") close(true);
      else if (event.key === "Tab") close(false);
      else return;
      event.preventDefault();
    });
    list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-action]");
      if (!item) return;
      close(false);
      openDialog(item, button);
    });
    closeMenu = () => {
      if (!list.hidden) close(false);
    };
  }

  let closeMenu = () => {};
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-menu]")) closeMenu();
  });

  // ---------------------------------------------------------------------------------------
  // The confirmation dialog
  // ---------------------------------------------------------------------------------------

  const dialog = document.getElementById("confirm");
  const title = document.getElementById("confirm-title");
  const body = document.getElementById("confirm-body");
  const ok = document.getElementById("confirm-ok");
  const cancel = document.getElementById("confirm-cancel");
  const errorBox = document.getElementById("confirm-error");
  const reasonField = document.getElementById("reason-field");
  const reason = document.getElementById("confirm-reason");
  const familyField = document.getElementById("family-field");
  const family = document.getElementById("confirm-family");
  let current = null; // {action, namespace, name, returnTo, signature, confirming}
  let repreview = null; // the timer of the dry run sent again with the typed reason

  const LABELS = { close: "Close to new entries", stop: "Stop" };

  async function post(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
    });
    let data;
    try {
      data = await response.json();
    } catch (error) {
      data = { ok: false, error: `The dashboard answered ${response.status}.` };
    }
    return data;
  }

  function base(target) {
    return `/journeys/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.name)}`;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function paragraph(text) {
    const p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  async function openDialog(trigger, returnTo) {
    const action = trigger.dataset.action;
    current = {
      action,
      namespace: trigger.dataset.namespace,
      name: trigger.dataset.name,
      returnTo: returnTo || trigger,
      signature: `[data-action="${CSS.escape(action)}"][data-name="${CSS.escape(trigger.dataset.name)}"]`,
    };
    showError("");
    reason.value = "";
    family.value = "";
    reasonField.hidden = action !== "stop" && action !== "close";
    familyField.hidden = action !== "duplicate";
    ok.disabled = true;
    ok.classList.toggle("danger", action === "stop" || action === "close");
    body.replaceChildren(paragraph("Asking the API server (dry run)…"));
    const label = LABELS[action] || (action === "new-version" ? "Create new version" : "Duplicate");
    title.textContent = `${label}: ${current.name}`;
    ok.textContent = label;
    dialog.showModal();
    (action === "duplicate" ? family : cancel).focus();
    if (action === "close" || action === "stop") await previewEnding();
    else if (action === "new-version") await previewVersion();
    else {
      body.replaceChildren(
        paragraph(`A copy of ${current.name} becomes version 1 of a new family, live at once.`),
        paragraph("Name the new family; the copy is checked by the API server when you confirm."),
      );
      ok.disabled = false;
    }
  }

  async function previewEnding() {
    const asked = current;
    const data = await post(base(asked) + "/preview", {
      ending: asked.action,
      reason: reason.value,
    });
    if (asked !== current) return;
    if (!data.ok) {
      body.replaceChildren(paragraph("The API server refused this change; nothing was changed."));
      showError(data.error);
      return;
    }
    body.innerHTML = data.html; // rendered and escaped by the server
    ok.textContent = data.button;
    if (!asked.confirming) ok.disabled = data.unchanged;
  }

  async function previewVersion() {
    const asked = current;
    const data = await post(base(asked) + "/new-version", { dryRun: true });
    if (asked !== current) return;
    if (!data.ok) {
      body.replaceChildren(paragraph("The API server refused this change; nothing was changed."));
      showError(data.error);
      return;
    }
    const facts = [paragraph(`${data.name} is created from ${data.source} and is live at once.`)];
    for (const line of data.closing) facts.push(paragraph(line));
    facts.push(paragraph("Edit the new version afterwards with kubectl (spec.template is immutable: change it here only by creating yet another version)."));
    body.replaceChildren(...facts);
    ok.textContent = `Create ${data.name}`;
    ok.disabled = false;
  }

  async function confirmDialog() {
    const asked = current;
    if (!asked) return;
    asked.confirming = true;
    clearTimeout(repreview);
    ok.disabled = true;
    showError("");
    let data;
    if (asked.action === "close" || asked.action === "stop") {
      data = await post(base(asked) + "/end", { ending: asked.action, reason: reason.value });
    } else if (asked.action === "new-version") {
      data = await post(base(asked) + "/new-version", { dryRun: false });
    } else {
      data = await post(base(asked) + "/duplicate", { family: family.value, dryRun: false });
    }
    if (asked !== current) return;
    if (!data.ok) {
      asked.confirming = false;
      showError(data.error);
      ok.disabled = asked.action !== "duplicate";
      return;
    }
    if (asked.action === "new-version" || asked.action === "duplicate") {
      window.location.assign(`/journeys/${encodeURIComponent(asked.namespace)}/${encodeURIComponent(data.name)}`);
      return;
    }
    dialog.close("done");
    refresh();
  }

  // The dry run is sent again with the reason typed (its warnings may depend on it).
  reason.addEventListener("input", () => {
    clearTimeout(repreview);
    repreview = setTimeout(() => {
      if (current && (current.action === "close" || current.action === "stop")) previewEnding();
    }, 400);
  });

  if (dialog) {
    ok.addEventListener("click", confirmDialog);
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      const asked = current;
      current = null;
      if (!asked) return;
      // The opener may have been replaced by a live refresh: focus its successor.
      let target = asked.returnTo;
      if (!document.contains(target)) {
        target = document.querySelector(asked.signature) || document.getElementById("actions-button");
      }
      if (target) target.focus();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const trigger = event.target.closest(".quick [data-action]");
    if (trigger) openDialog(trigger, trigger);
  });
  const filters = document.getElementById("filters");
  if (filters) {
    filters.querySelector("select").addEventListener("change", () => filters.submit());
  }
  setupMenu();
  connect();
})();
