// Shared page behaviour: the in-flight indicator, failure messages for htmx requests,
// the keypad, and a message that fades for each server notice.
(function () {
  "use strict";
  var inFlight = 0;

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, kind === "error" ? 8000 : 4000);
  }
  window.mesToast = toast;

  function reasonFrom(xhr) {
    if (!xhr) return "";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body.detail) return body.detail;
    } catch (e) { /* not JSON */ }
    var text = (xhr.responseText || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    return text.length > 0 && text.length < 300 ? text : "";
  }

  document.addEventListener("htmx:beforeRequest", function () {
    inFlight += 1;
    document.documentElement.classList.add("request-in-flight");
  });
  document.addEventListener("htmx:afterRequest", function () {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0) document.documentElement.classList.remove("request-in-flight");
  });
  // A refused desk form comes back with its refusal's status (400, 409...), the form's partial as
  // typed with the reason at its field, and the reason as a notice (HX-Trigger: mes:notice). Swap
  // it in like a success; any other refusal keeps the page and shows its reason.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && /mes:notice/.test(xhr.getResponseHeader("HX-Trigger") || "")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("mes:notice", function (evt) {
    var notice = evt.detail || {};
    if (notice.message) toast(notice.message, notice.level);
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var reason = reasonFrom(xhr);
    toast((reason || interpolate(gettext("The server refused this (%(status)s)."), { status: xhr.status }, true)) + "", "error");
  });
  // Only a failed write loses what was entered; a failed read (a poll, a refresh) says only that
  // the server is out of reach.
  document.addEventListener("htmx:sendError", function (evt) {
    var config = evt.detail && evt.detail.requestConfig;
    var read = config && String(config.verb).toLowerCase() === "get";
    toast(read ? gettext("No connection to the server.") : gettext("No connection to the server: not saved."), "error");
  });
  document.addEventListener("htmx:timeout", function () {
    toast(gettext("The server did not answer in time."), "error");
  });

  // The keypad (mes/keypad.html): big keys instead of the system keyboard. It types into the
  // field of its form, or of its [data-keypad-scope], marked data-keypad-input that the person
  // tapped last (badge or PIN), the first one until then; the field is marked so they see where.
  function keypadScope(el) {
    return el.closest("[data-keypad-scope]") || el.closest("form");
  }
  function keypadFields(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll("[data-keypad-input]"));
  }
  function markTarget(input) {
    var scope = keypadScope(input);
    if (!scope) return;
    keypadFields(scope).forEach(function (f) { f.classList.toggle("keypad-target", f === input); });
  }
  document.addEventListener("focusin", function (evt) {
    var input = evt.target.closest && evt.target.closest("[data-keypad-input]");
    if (input) markTarget(input);
  });
  document.addEventListener("click", function (evt) {
    var key = evt.target.closest("[data-keypad] [data-key]");
    if (!key) return;
    var scope = keypadScope(key);
    if (!scope) return;
    var fields = keypadFields(scope);
    var input = fields.filter(function (f) { return f.classList.contains("keypad-target"); })[0] || fields[0];
    if (!input) return;
    var k = key.dataset.key, value = input.value;
    if (k === "clear") value = value.slice(0, -1);
    else if (k === "-") value = value.charAt(0) === "-" ? value.slice(1) : "-" + value;
    else if ((k === "." || k === ",") && value.indexOf(k) >= 0) return; // one decimal separator
    else value += k;
    input.value = value;
    markTarget(input);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  // A badge reader types the badge and presses Enter: go on to the PIN rather than submit.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter") return;
    var input = evt.target.closest && evt.target.closest("[data-keypad-input]");
    var scope = input && keypadScope(input);
    if (!scope) return;
    var fields = keypadFields(scope);
    var next = fields[fields.indexOf(input) + 1];
    if (next && !next.value) {
      evt.preventDefault();
      next.focus();
    }
  });

  // A UUID for idempotency keys. crypto.randomUUID exists only in secure contexts, and a plant's
  // tablets often reach the MES over plain http on the floor network.
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  window.mesUuid = uuid4;

  // Forms marked data-idempotent send a fresh idempotency key with each submission; a button
  // with data-ask-reason asks for the reason first and sends nothing if none is given.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    var form = elt.closest && elt.closest("form[data-idempotent]");
    if (!form) return;
    if (!evt.detail.parameters.idempotency_key) evt.detail.parameters.idempotency_key = uuid4();
    var submitter = evt.detail.triggeringEvent && evt.detail.triggeringEvent.submitter;
    if (submitter && submitter.dataset.askReason) {
      var reason = window.prompt(submitter.dataset.askReason);
      if (!reason) { evt.preventDefault(); return; }
      evt.detail.parameters.reason = reason;
    }
  });

  // Polls with a condition: hx-trigger="every 10s" plus data-poll-while="visible" (the page is in
  // view) or "tablet" (the tablet's operator is active, tablet.js). A condition written in the
  // trigger itself ("every 10s [...]") is run by htmx with eval, which the Content-Security-Policy
  // forbids. htmx announces every trigger but a poll with htmx:trigger just before its request,
  // so a request without one is a poll.
  var pollGuards = { visible: function () { return document.visibilityState === "visible"; } };
  window.mesPollGuards = pollGuards;
  document.addEventListener("htmx:trigger", function (evt) {
    var elt = evt.target;
    elt.mesTriggered = true;
    Promise.resolve().then(function () { elt.mesTriggered = false; });
  });
  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail.elt;
    if (elt.mesTriggered) return;
    var guard = pollGuards[elt.getAttribute("data-poll-while")];
    if (guard && !guard()) evt.preventDefault();
  });

  // Progress bars take their width from aria-valuenow: the policy allows no style attribute, and
  // setting a width from script is allowed.
  function drawProgress(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll(".progress[aria-valuenow]"));
    if (root.matches && root.matches(".progress[aria-valuenow]")) bars.push(root);
    bars.forEach(function (bar) {
      var fill = bar.querySelector("span");
      var value = Math.max(0, Math.min(100, Number(bar.getAttribute("aria-valuenow")) || 0));
      if (fill) fill.style.width = value + "%";
    });
  }
  document.addEventListener("htmx:load", function (evt) { drawProgress(evt.detail.elt || document); });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 5000);
    });
  });
})();
