// The operator's tablet: every tap waits in a list kept in this browser's storage.
//
// A tap (start, pause, +1 good, scrap, downtime...) is first written to the waiting list of this
// workstation with its idempotency key and the time it was made, shown as "waiting to send", and
// then POSTed in order to the events endpoint. It leaves the waiting list only when the server answered:
// 2xx = saved, 400/409 = refused (the reason is shown and the tap dropped). No answer, a 5xx or
// anything else keeps it and retries with backoff, on the `online` event and on "Send now"; a
// resend reuses the tap's key, so the server counts it once. After each answer the counters are
// re-read from the server (htmx partials listen for `tablet:refresh`); which taps the screen
// offers is the server's answer too (tablet/screen.js applies it).
import { typedNumber } from "./lib/numbers.js";
import { WaitingList } from "./lib/waiting.js";
import { forgetOverride, offerOverride, submitOverride } from "./tablet/override.js";
import { offerRefusalPage } from "./tablet/refusal_page.js";
import { watchReads } from "./tablet/offline.js";
import { forgetPages, keepPages } from "./tablet/pages.js";
import { post } from "./tablet/send.js";
import { render as renderScreen, setConnection, setStatus, showFormError, tickClocks } from "./tablet/screen.js";

const MAX_RETRY_MS = 15000;

let cfg = null;
let waiting = null;
let sending = false;
let retryTimer = null;
let retryDelay = 0;
let clockOffset = 0; // server time minus tablet time, so tap times follow the server's clock
let lastActivity = Date.now();
let signingOut = false;

function readConfig() {
  const el = document.getElementById("tablet");
  if (!el) return null;
  const d = el.dataset;
  return {
    workstation: d.workstation,
    operator: d.operator,
    operatorName: d.operatorName,
    eventsUrl: d.eventsUrl,
    overrideUrl: d.overrideUrl,
    signInUrl: d.signInUrl,
    idleMs: (Number(d.idleSeconds) || 300) * 1000,
    serverNow: Date.parse(d.serverNow),
    serviceWorkerUrl: d.serviceWorkerUrl,
  };
}

function toast(text, kind) {
  if (window.mesToast) window.mesToast(text, kind);
}

function nowIso() {
  return new Date(Date.now() + clockOffset).toISOString();
}

function learnServerTime(iso) {
  const server = Date.parse(iso || "");
  if (!isNaN(server)) clockOffset = server - Date.now();
}

function render() {
  if (cfg) renderScreen(waiting.entries, cfg.operator);
}

// --- taps ------------------------------------------------------------------------------------

// The operation on screen goes with every tap made there; the server reads it for the taps
// that act on an operation and ignores it for the others (downtime).
function currentOperation() {
  const screen = document.getElementById("ws-screen");
  return screen ? screen.dataset.operation || "" : "";
}

function tap(fields) {
  if (!cfg) return;
  const t = {
    key: window.mesUuid(),
    kind: fields.kind,
    operation: String(fields.operation || currentOperation()),
    quantity: fields.quantity ? String(fields.quantity) : "",
    reason: fields.reason || "",
    lot: fields.lot || "",
    label: fields.label || fields.kind,
    occurred_at: nowIso(),
    user: cfg.operator,
    userName: cfg.operatorName,
    attempts: 0,
    error: "",
  };
  waiting.put(t);
  setStatus("pending", interpolate(gettext("%(tap)s: waiting to send"), { tap: t.label }, true));
  render();
  flush();
}

function sendTap(t) {
  return post(cfg.eventsUrl, {
    idempotency_key: t.key,
    kind: t.kind,
    operation: t.operation,
    quantity: t.quantity,
    reason: t.reason,
    lot: t.lot || "",
    occurred_at: t.occurred_at,
  }).then(function (r) {
    // Only a domain refusal of the request itself drops a tap, or a person who may no longer
    // work at this workstation's site; a tablet that is not bound or a throttled server may
    // accept it later.
    const final = r.status === 400 || r.status === 409 || (r.status === 403 && r.body.code === "other_site");
    if (r.outcome === "refused" && !final) r.outcome = "retry";
    return r;
  });
}

// Send this operator's taps one at a time, in the order they were made.
function flush() {
  if (!cfg || sending) return;
  clearTimeout(retryTimer);
  retryTimer = null;
  const t = waiting.first(function (x) { return x.user === cfg.operator; });
  if (!t) {
    render();
    return;
  }
  sending = true;
  sendTap(t).then(
    function (r) {
      sending = false;
      handleAnswer(t, r);
    },
    function () {
      sending = false;
      scheduleRetry();
    }
  );
}

function handleAnswer(t, r) {
  if (r.outcome === "saved" || r.outcome === "refused") {
    waiting.remove(t.key);
    retryDelay = 0;
    setConnection(true);
    if (r.outcome === "saved") {
      learnServerTime(r.body.server_time);
      setStatus("saved", interpolate(gettext("Saved: %(tap)s"), { tap: t.label }, true));
    } else {
      setStatus("refused", interpolate(gettext("Refused: %(tap)s. %(reason)s"), { tap: t.label, reason: r.body.detail }, true));
      toast(interpolate(gettext("%(tap)s: %(reason)s"), { tap: t.label, reason: r.body.detail }, true), "error");
      if (r.body.code === "over_quantity") offerOverride(t, r.body.detail);
      offerRefusalPage(r.body);
    }
    refresh();
    render();
    flush();
    return;
  }
  waiting.update(t.key, function (x) {
    x.attempts += 1;
    x.error = r.message || "";
  });
  render();
  if (r.outcome === "signed_out") {
    setStatus("refused", gettext("Signed out: badge in again and the waiting taps are sent."));
    setTimeout(function () { window.location.assign(cfg.signInUrl + "?expired=1"); }, 1500);
    return;
  }
  if (r.network) {
    // The offline line in the bar says the rest; the tap is safe on this tablet.
    offline();
    setStatus("pending", interpolate(gettext("%(tap)s: kept on this tablet"), { tap: t.label }, true));
  } else {
    setStatus("pending", interpolate(gettext("%(tap)s: not sent yet (%(problem)s); trying again."), { tap: t.label, problem: r.message }, true));
  }
  scheduleRetry();
}

function scheduleRetry() {
  clearTimeout(retryTimer);
  retryDelay = retryDelay ? Math.min(MAX_RETRY_MS, retryDelay * 2) : 1000;
  retryTimer = setTimeout(flush, retryDelay + Math.floor(Math.random() * 300));
}

function sendNow() {
  retryDelay = 0;
  flush();
}

// The one offline state: the bar says so once, and the end of the page stays clear of it.
function offline() {
  setConnection(false);
  render();
}

function online() {
  setConnection(true);
  render();
}

function refresh() {
  if (window.htmx) window.htmx.trigger(document.body, "tablet:refresh");
}

// --- idle: stop polling, then sign out like the server would ----------------------------------

// Polls would otherwise keep a forgotten session alive on a shared tablet.
window.tabletShouldPoll = function () {
  return document.visibilityState === "visible" && (!cfg || Date.now() - lastActivity < cfg.idleMs);
};
// Polls marked data-poll-while="tablet" ask this first (see mes.js).
if (window.mesPollGuards) window.mesPollGuards.tablet = window.tabletShouldPoll;

function checkIdle() {
  if (!cfg || signingOut || Date.now() - lastActivity < cfg.idleMs + 1000) return;
  if (navigator.onLine === false) return;
  const form = document.querySelector("form.signout");
  if (!form) return;
  signingOut = true;
  forgetPages();
  form.submit();
}

// --- wiring ----------------------------------------------------------------------------------

function openDialog(id) {
  const dialog = document.getElementById(id);
  if (!dialog) return;
  const form = dialog.querySelector("form");
  if (form) {
    form.reset();
    showFormError(form, "");
  }
  dialog.showModal();
}

function onClick(evt) {
  const el = evt.target.closest("[data-tap], [data-dialog], [data-close], [data-waiting-send], [data-pause-then-start]");
  if (!el || el.disabled) return;
  if (el.hasAttribute("data-pause-then-start")) {
    pauseThenStart(el);
  } else if (el.hasAttribute("data-dialog")) {
    openDialog(el.dataset.dialog);
  } else if (el.hasAttribute("data-close")) {
    const closing = el.closest("dialog");
    if (closing) closing.close();
    if (closing && closing.id === "dlg-override") forgetOverride();
  } else if (el.hasAttribute("data-waiting-send")) {
    sendNow();
  } else {
    const dialog = el.closest("dialog");
    if (dialog) dialog.close();
    tap({
      kind: el.dataset.tap,
      quantity: el.dataset.quantity,
      reason: el.dataset.reason,
      label: el.dataset.label,
    });
  }
}

// Another order runs at this workstation: pause it (with the reason chosen), then start this one.
// Two taps with their own keys, sent in this order, so the counts never go to both.
function pauseThenStart(el) {
  const dialog = el.closest("dialog");
  dialog.querySelectorAll("[data-running-op]").forEach(function (other) {
    tap({
      kind: "pause",
      operation: other.dataset.runningOp,
      reason: el.dataset.reason,
      label: interpolate(gettext("Pause %(order)s: %(reason)s"), { order: other.dataset.order, reason: el.dataset.reasonName }, true),
    });
  });
  dialog.close();
  tap({ kind: "start", label: gettext("Start") });
}

function onSubmit(evt) {
  const form = evt.target;
  if (form.hasAttribute("data-override-form")) {
    evt.preventDefault();
    submitOverride(form, { overrideUrl: cfg.overrideUrl, toast: toast, refresh: refresh, handleAnswer: handleAnswer });
    return;
  }
  const kind = form.dataset.tapForm;
  if (!kind) return;
  evt.preventDefault();
  if (kind === "consume") {
    // A scanner types the label's content (a lot code or a GS1 string) and presses Enter; the
    // server reads the lot or serial out of it. No quantity: what the order still needs.
    const lot = form.elements.lot.value.trim();
    const qty = form.elements.quantity.value.trim();
    if (!lot) {
      showFormError(form, gettext("Scan or type the lot number."));
      return;
    }
    if (qty && !(typedNumber(qty) > 0)) {
      showFormError(form, gettext("Enter a quantity above zero, or leave it empty."));
      return;
    }
    form.closest("dialog").close();
    const shown = lot.replace(/[\x00-\x1f\xf1]/g, " ").slice(0, 40);
    const consumeLabel = qty
      ? interpolate(gettext("Consume %(quantity)s of %(lot)s"), { quantity: qty, lot: shown }, true)
      : interpolate(gettext("Consume %(lot)s"), { lot: shown }, true);
    tap({ kind: "consume", quantity: qty, lot: lot, label: consumeLabel });
    return;
  }
  const raw = form.elements.quantity.value.trim() || (kind === "scrap" ? "1" : "");
  const quantity = typedNumber(raw);
  if (!raw || !isFinite(quantity) || quantity <= 0) {
    showFormError(form, gettext("Enter a quantity above zero."));
    return;
  }
  let label = interpolate(gettext("+%(quantity)s good"), { quantity: raw }, true);
  let reason = "";
  if (kind === "scrap") {
    const chosen = form.querySelector("input[name=reason]:checked");
    if (!chosen) {
      showFormError(form, gettext("Choose the reason for the scrap."));
      return;
    }
    reason = chosen.value;
    label = interpolate(gettext("Scrap %(quantity)s: %(reason)s"), { quantity: raw, reason: chosen.dataset.reasonName }, true);
  }
  form.closest("dialog").close();
  tap({ kind: kind, quantity: raw, reason: reason, label: label });
}

// --- andon: one idempotency key per kind of call until the server has answered -------------

// A resend after a lost answer raises the call once. The andon box is swapped in and out by
// htmx, so the listeners sit on the document, set up once.
let andonKeys = {};
document.addEventListener("htmx:configRequest", function (evt) {
  const form = evt.detail.elt.closest && evt.detail.elt.closest("form[data-andon]");
  if (!form) return;
  const kind = evt.detail.parameters.kind || "";
  andonKeys[kind] = andonKeys[kind] || window.mesUuid();
  evt.detail.parameters.idempotency_key = andonKeys[kind];
});
document.addEventListener("htmx:afterRequest", function (evt) {
  const form = evt.detail.elt.closest && evt.detail.elt.closest("form[data-andon]");
  if (form && evt.detail.successful) andonKeys = {};
});

function init() {
  cfg = readConfig();
  if (!cfg) return;
  if (!isNaN(cfg.serverNow)) clockOffset = cfg.serverNow - Date.now();
  waiting = new WaitingList("mes.waiting.workstation." + cfg.workstation, {
    onStoreFailed: function () {
      toast(gettext("This tablet cannot store taps right now; they are kept until the page closes."), "error");
    },
  });
  waiting.adopt("mes.outbox.workstation." + cfg.workstation);
  render();
  document.addEventListener("click", onClick);
  document.addEventListener("submit", onSubmit);
  ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });
  // Swapped-in counters and banners get the waiting taps applied again.
  document.addEventListener("htmx:afterSettle", render);
  document.addEventListener("htmx:historyRestore", function () {
    waiting.load();
    render();
  });
  // A failed read is not a lost tap: show the offline state instead of the generic error toast.
  watchReads(offline);
  document.body.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.successful) online();
  });
  window.addEventListener("online", function () {
    online();
    sendNow();
    refresh();
  });
  window.addEventListener("offline", offline);
  if (navigator.onLine === false) offline();
  waiting.onChange(render);
  const clocks = function () { tickClocks(Date.now() + clockOffset); };
  setInterval(clocks, 1000);
  setInterval(checkIdle, 5000);
  setInterval(function () {
    if (!retryTimer) flush();
  }, 20000);
  clocks();
  flush();
  keepPages(cfg.serviceWorkerUrl);
  document.addEventListener("submit", function (evt) {
    if (evt.target.matches && evt.target.matches("form.signout")) forgetPages();
  });
  document.addEventListener("htmx:pushedIntoHistory", function () { keepPages(cfg.serviceWorkerUrl); });
}

// A module runs once the document is parsed.
init();
