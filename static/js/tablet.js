// The operator's tablet: every tap goes through an outbox kept in localStorage.
//
// A tap (start, pause, +1 good, scrap, downtime...) is first written to the outbox of this
// workstation with its idempotency key and the time it was made, shown as "waiting to send", and
// then POSTed in order to the events endpoint. It leaves the outbox only when the server answered:
// 2xx = saved, 400/409 = refused (the reason is shown and the tap dropped). No answer, a 5xx or
// anything else keeps it and retries with backoff, on the `online` event and on "Send now"; a
// resend reuses the tap's key, so the server counts it once. After each answer the counters are
// re-read from the server (htmx partials listen for `tablet:refresh`).
(function () {
  "use strict";

  var CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  var OPERATION_KINDS = ["start", "pause", "resume", "complete", "scrap", "consume"];
  var SEND_TIMEOUT_MS = 15000;
  var MAX_RETRY_MS = 15000;

  var cfg = null;
  var outbox = [];
  var sending = false;
  var retryTimer = null;
  var retryDelay = 0;
  var clockOffset = 0; // server time minus tablet time, so tap times follow the server's clock
  var lastActivity = Date.now();
  var pendingOverride = null;
  var signingOut = false;

  // --- configuration and storage ---------------------------------------------------------------

  function readConfig() {
    var el = document.getElementById("tablet");
    if (!el) return null;
    var d = el.dataset;
    return {
      workstation: d.workstation,
      operator: d.operator,
      operatorName: d.operatorName,
      eventsUrl: d.eventsUrl,
      overrideUrl: d.overrideUrl,
      signInUrl: d.signInUrl,
      idleMs: (Number(d.idleSeconds) || 300) * 1000,
      serverNow: Date.parse(d.serverNow),
    };
  }

  function storageKey() {
    return "mes.outbox.workstation." + cfg.workstation;
  }

  function load() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(storageKey()) || "[]");
      if (Array.isArray(stored)) outbox = stored;
    } catch (e) {
      /* unreadable storage: keep what is in memory */
    }
  }

  function save() {
    try {
      window.localStorage.setItem(storageKey(), JSON.stringify(outbox));
    } catch (e) {
      toast("This tablet cannot store taps right now; they are kept until the page closes.", "error");
    }
  }

  // Re-read before each change, so a second tab on the same tablet is not overwritten.
  function mutate(change) {
    load();
    change(outbox);
    save();
  }

  function toast(text, kind) {
    if (window.mesToast) window.mesToast(text, kind);
  }

  function nowIso() {
    return new Date(Date.now() + clockOffset).toISOString();
  }

  function learnServerTime(iso) {
    var server = Date.parse(iso || "");
    if (!isNaN(server)) clockOffset = server - Date.now();
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // --- taps ------------------------------------------------------------------------------------

  function currentOperation() {
    var screen = document.getElementById("ws-screen");
    return screen ? screen.dataset.operation || "" : "";
  }

  function tap(fields) {
    if (!cfg) return;
    var t = {
      key: window.mesUuid(),
      kind: fields.kind,
      operation: OPERATION_KINDS.indexOf(fields.kind) >= 0 ? String(fields.operation || currentOperation()) : "",
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
    mutate(function (list) {
      list.push(t);
    });
    setStatus("pending", t.label + ": waiting to send");
    render();
    flush();
  }

  function formBody(fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (name) {
      body.set(name, fields[name] == null ? "" : String(fields[name]));
    });
    return body;
  }

  // POST and classify the answer: saved, refused (drop), signed_out or retry (keep).
  function post(url, fields) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      body: formBody(fields),
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (res) {
        clearTimeout(timer);
        if (res.type === "opaqueredirect" || res.status === 401) {
          return { outcome: "signed_out", status: res.status, message: "Signed out" };
        }
        return res
          .json()
          .catch(function () { return null; })
          .then(function (body) {
            if (res.ok && body && body.recorded) return { outcome: "saved", status: res.status, body: body };
            if (body && body.code && (res.status === 400 || res.status === 409 || res.status === 403 || res.status === 429)) {
              // 403 and 429 are refused for the override form; the event endpoint keeps them.
              return { outcome: "refused", status: res.status, body: body, message: body.detail };
            }
            return {
              outcome: "retry",
              status: res.status,
              message: (body && body.detail) || "the server answered " + res.status,
            };
          });
      })
      .catch(function () {
        clearTimeout(timer);
        return { outcome: "retry", status: 0, network: true, message: "no connection" };
      });
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
      var final = r.status === 400 || r.status === 409 || (r.status === 403 && r.body.code === "other_site");
      if (r.outcome === "refused" && !final) r.outcome = "retry";
      return r;
    });
  }

  function nextTap() {
    load();
    for (var i = 0; i < outbox.length; i++) {
      if (outbox[i].user === cfg.operator) return outbox[i];
    }
    return null;
  }

  function removeTap(key) {
    mutate(function (list) {
      for (var i = list.length - 1; i >= 0; i--) if (list[i].key === key) list.splice(i, 1);
    });
  }

  // Send this operator's taps one at a time, in the order they were made.
  function flush() {
    if (!cfg || sending) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    var t = nextTap();
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
      removeTap(t.key);
      retryDelay = 0;
      setConnection(true);
      if (r.outcome === "saved") {
        learnServerTime(r.body.server_time);
        setStatus("saved", "Saved: " + t.label);
      } else {
        setStatus("refused", "Refused: " + t.label + ". " + r.body.detail);
        toast(t.label + ": " + r.body.detail, "error");
        if (r.body.code === "over_quantity") offerOverride(t, r.body.detail);
      }
      refresh();
      render();
      flush();
      return;
    }
    mutate(function (list) {
      list.forEach(function (x) {
        if (x.key === t.key) {
          x.attempts += 1;
          x.error = r.message || "";
        }
      });
    });
    render();
    if (r.outcome === "signed_out") {
      setStatus("refused", "Signed out: badge in again and the waiting taps are sent.");
      setTimeout(function () { window.location.assign(cfg.signInUrl + "?expired=1"); }, 1500);
      return;
    }
    if (r.network) setConnection(false);
    setStatus("pending", t.label + ": not sent yet (" + r.message + "); trying again.");
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

  function refresh() {
    if (window.htmx) window.htmx.trigger(document.body, "tablet:refresh");
  }

  // --- supervisor override of an over-quantity count --------------------------------------------

  // Not queued: it needs the supervisor at the tablet, and a PIN is never stored.
  function offerOverride(t, detail) {
    var dialog = document.getElementById("dlg-override");
    if (!dialog || !t.operation) return;
    pendingOverride = t;
    var form = dialog.querySelector("form");
    form.reset();
    showFormError(form, "");
    dialog.querySelector("[data-override-message]").textContent =
      detail + " Record " + t.quantity + " good anyway?";
    if (!dialog.open) dialog.showModal();
  }

  function submitOverride(form) {
    var t = pendingOverride;
    var dialog = form.closest("dialog");
    if (!t) {
      dialog.close();
      return;
    }
    var badge = form.elements.badge_number.value.trim();
    var pin = form.elements.pin.value;
    if (!badge || !pin) {
      showFormError(form, "The supervisor scans their badge and enters their PIN.");
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showFormError(form, "");
    post(cfg.overrideUrl, {
      idempotency_key: t.key,
      operation: t.operation,
      quantity: t.quantity,
      occurred_at: t.occurred_at,
      badge_number: badge,
      pin: pin,
    }).then(function (r) {
      button.disabled = false;
      form.elements.pin.value = "";
      if (r.outcome === "saved") {
        pendingOverride = null;
        dialog.close();
        setStatus("saved", "Saved with supervisor's approval: " + t.label);
        refresh();
      } else if (r.outcome === "refused" && r.body.field !== "badge_number" && r.body.field !== "pin" && r.status === 409) {
        pendingOverride = null;
        dialog.close();
        setStatus("refused", "Refused: " + t.label + ". " + r.body.detail);
        toast(r.body.detail, "error");
        refresh();
      } else if (r.outcome === "signed_out") {
        handleAnswer(t, r);
      } else {
        // Wrong badge or PIN, not allowed, throttled, no connection: the same key may be sent
        // again, and is counted once.
        showFormError(form, r.message || "Not saved; try again.");
      }
    });
  }

  function showFormError(form, text) {
    var el = form.querySelector("[data-form-error]");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  // --- what the screen shows ---------------------------------------------------------------------

  function setStatus(state, text) {
    var el = document.getElementById("tap-status");
    if (!el) return;
    var time = new Date().toLocaleTimeString([], CLOCK);
    el.className = "tap-status tap-" + state;
    el.title = text;
    el.textContent = (state === "saved" ? "✓ " : state === "refused" ? "✗ " : "… ") + text + " · " + time;
  }

  function setConnection(isOnline) {
    var el = document.getElementById("connection");
    if (!el) return;
    el.textContent = isOnline ? "Online" : "Offline";
    el.className = "connection " + (isOnline ? "is-online" : "is-offline");
  }

  function fmt(n) {
    return String(Math.round(n * 1000) / 1000);
  }

  function render() {
    if (!cfg) return;
    var box = document.getElementById("outbox");
    if (!box) return;
    var count = document.getElementById("outbox-count");
    var list = document.getElementById("outbox-list");
    box.dataset.count = String(outbox.length);
    box.classList.toggle("has-waiting", outbox.length > 0);
    count.textContent = String(outbox.length);
    list.textContent = "";
    outbox.forEach(function (t) {
      var li = document.createElement("li");
      var when = new Date(t.occurred_at).toLocaleTimeString([], CLOCK);
      var note = "waiting to send";
      if (t.user !== cfg.operator) note = "waits for " + (t.userName || "its operator") + " to sign in";
      else if (t.error) note += " (" + t.error + ")";
      li.textContent = when + " · " + t.label + " · " + note;
      list.appendChild(li);
    });
    // Keep the end of the page clear of the fixed outbox bar, however tall its list grows.
    var home = box.closest(".workstation-home");
    if (home) home.style.paddingBottom = box.offsetHeight + 16 + "px";
    renderOperation();
    renderDowntime();
  }

  // What the buttons offer follows the server's state with this operator's waiting taps applied,
  // so an operator working offline can start and count.
  function renderOperation() {
    var screen = document.getElementById("ws-screen");
    var counters = document.getElementById("op-counters");
    if (!screen || !counters || screen.dataset.screen !== "operation") return;
    var op = screen.dataset.operation;
    var status = counters.dataset.status;
    var pending = { complete: 0, scrap: 0 };
    outbox.forEach(function (t) {
      if (t.operation !== op || t.user !== cfg.operator) return;
      if (t.kind === "start" || t.kind === "resume") status = "running";
      if (t.kind === "pause") status = "paused";
      if (t.kind === "complete" || t.kind === "scrap") pending[t.kind] += Number(t.quantity) || 0;
    });
    var workable = ["released", "in_progress"].indexOf(counters.dataset.orderStatus) >= 0;
    screen.dataset.eff = status;
    screen.dataset.blocked = workable ? "0" : "1";
    var enable = {
      "act-start": status === "pending",
      "act-pause": status === "running",
      "act-resume": status === "paused",
      "act-good": status === "running",
      "act-good-n": status === "running",
      "act-scrap": status === "running" || status === "paused",
      "act-consume": status === "running" || status === "paused",
    };
    Object.keys(enable).forEach(function (cls) {
      screen.querySelectorAll("." + cls).forEach(function (b) { b.disabled = !(enable[cls] && workable); });
    });
    counters.querySelectorAll("[data-pending]").forEach(function (el) {
      var n = pending[el.dataset.pending] || 0;
      el.textContent = n ? "+" + fmt(n) + " waiting" : "";
    });
  }

  function renderDowntime() {
    var banner = document.getElementById("downtime-banner");
    if (!banner) return;
    var open = banner.dataset.open === "1";
    outbox.forEach(function (t) {
      if (t.user !== cfg.operator) return;
      if (t.kind === "downtime_start") open = true;
      if (t.kind === "downtime_end") open = false;
    });
    var serverOpen = banner.dataset.open === "1";
    banner.classList.toggle("dt-waiting", open !== serverOpen);
    var note = banner.querySelector(".dt-note");
    if (open !== serverOpen) {
      if (!note) {
        note = document.createElement("span");
        note.className = "dt-note";
        banner.appendChild(note);
      }
      note.textContent = open ? "Downtime reported: waiting to send" : "End of downtime: waiting to send";
    } else if (note) {
      note.remove();
    }
  }

  function tickClocks() {
    var now = Date.now() + clockOffset;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (isNaN(since)) return;
      var s = Math.max(0, Math.floor((now - since) / 1000));
      var h = Math.floor(s / 3600);
      var m = Math.floor((s % 3600) / 60);
      var sec = s % 60;
      el.textContent = "for " + h + ":" + (m < 10 ? "0" : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
    });
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
    var form = document.querySelector("form.signout");
    if (!form) return;
    signingOut = true;
    form.submit();
  }

  // --- wiring ----------------------------------------------------------------------------------

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog) return;
    var form = dialog.querySelector("form");
    if (form) {
      form.reset();
      showFormError(form, "");
    }
    dialog.showModal();
  }

  function onClick(evt) {
    var el = evt.target.closest("[data-tap], [data-dialog], [data-close], [data-outbox-send]");
    if (!el || el.disabled) return;
    if (el.hasAttribute("data-dialog")) {
      openDialog(el.dataset.dialog);
    } else if (el.hasAttribute("data-close")) {
      var closing = el.closest("dialog");
      if (closing) closing.close();
      if (closing && closing.id === "dlg-override") pendingOverride = null;
    } else if (el.hasAttribute("data-outbox-send")) {
      sendNow();
    } else {
      var dialog = el.closest("dialog");
      if (dialog) dialog.close();
      tap({
        kind: el.dataset.tap,
        quantity: el.dataset.quantity,
        reason: el.dataset.reason,
        label: el.dataset.label,
      });
    }
  }

  function onSubmit(evt) {
    var form = evt.target;
    if (form.hasAttribute("data-override-form")) {
      evt.preventDefault();
      submitOverride(form);
      return;
    }
    var kind = form.dataset.tapForm;
    if (!kind) return;
    evt.preventDefault();
    if (kind === "consume") {
      // A scanner types the label's content (a lot code or a GS1 string) and presses Enter; the
      // server reads the lot or serial out of it. No quantity: what the order still needs.
      var lot = form.elements.lot.value.trim();
      var qty = form.elements.quantity.value.trim();
      if (!lot) {
        showFormError(form, "Scan or type the lot number.");
        return;
      }
      if (qty && !(Number(qty) > 0)) {
        showFormError(form, "Enter a quantity above zero, or leave it empty.");
        return;
      }
      form.closest("dialog").close();
      var shown = lot.replace(/[\x00-\x1f\xf1]/g, " ").slice(0, 40);
      tap({ kind: "consume", quantity: qty, lot: lot, label: "Consume " + (qty ? qty + " of " : "") + shown });
      return;
    }
    var raw = form.elements.quantity.value.trim() || (kind === "scrap" ? "1" : "");
    var quantity = Number(raw);
    if (!raw || !isFinite(quantity) || quantity <= 0) {
      showFormError(form, "Enter a quantity above zero.");
      return;
    }
    var label = "+" + raw + " good";
    var reason = "";
    if (kind === "scrap") {
      var chosen = form.querySelector("input[name=reason]:checked");
      if (!chosen) {
        showFormError(form, "Choose the reason for the scrap.");
        return;
      }
      reason = chosen.value;
      label = "Scrap " + raw + ": " + chosen.dataset.reasonName;
    }
    form.closest("dialog").close();
    tap({ kind: kind, quantity: raw, reason: reason, label: label });
  }

  // --- andon: one idempotency key per kind of call until the server has answered -------------

  // A resend after a lost answer raises the call once. The andon box is swapped in and out by
  // htmx, so the listeners sit on the document, set up once.
  var andonKeys = {};
  document.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt.closest && evt.detail.elt.closest("form[data-andon]");
    if (!form) return;
    var kind = evt.detail.parameters.kind || "";
    andonKeys[kind] = andonKeys[kind] || window.mesUuid();
    evt.detail.parameters.idempotency_key = andonKeys[kind];
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt.closest && evt.detail.elt.closest("form[data-andon]");
    if (form && evt.detail.successful) andonKeys = {};
  });

  function init() {
    cfg = readConfig();
    if (!cfg) return;
    if (!isNaN(cfg.serverNow)) clockOffset = cfg.serverNow - Date.now();
    load();
    render();
    document.addEventListener("click", onClick);
    document.addEventListener("submit", onSubmit);
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
    });
    // Swapped-in counters and banners get the waiting taps applied again.
    document.addEventListener("htmx:afterSettle", render);
    document.addEventListener("htmx:historyRestore", function () {
      load();
      render();
    });
    // A failed poll is not a lost tap: show "Offline" instead of the generic error toast.
    document.body.addEventListener("htmx:sendError", function (evt) {
      if (evt.target.closest && evt.target.closest("[data-poll]")) {
        evt.stopPropagation();
        setConnection(false);
      }
    });
    document.body.addEventListener("htmx:afterRequest", function (evt) {
      if (evt.detail.successful) setConnection(true);
    });
    window.addEventListener("online", function () {
      setConnection(true);
      sendNow();
      refresh();
    });
    window.addEventListener("offline", function () { setConnection(false); });
    window.addEventListener("storage", function (evt) {
      if (evt.key === storageKey()) {
        load();
        render();
      }
    });
    setInterval(tickClocks, 1000);
    setInterval(checkIdle, 5000);
    setInterval(function () {
      if (!retryTimer) flush();
    }, 20000);
    tickClocks();
    flush();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
