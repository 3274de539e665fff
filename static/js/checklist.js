// Filling a checklist on the tablet: in/out-of-spec colouring as a value is entered (the
// project's keypad in mes.js types into the numbers), progress saved as the operator goes, and
// nothing lost through a network drop.
//
// On this tablet (localStorage, under `mes.checklist.`), per run:
// - `<run>.values`: every value as typed (a WaitingList, one entry per item, `sent` once the server
//   has it). A reload, even offline from the service worker's kept copy, shows them again.
// - `<run>.key`: the submission's idempotency key, so a resend is the same submission.
// - `submits`: submissions made without a connection (a WaitingList keyed by idempotency key), sent
//   when the connection returns; the server stores each key once.
// All of it is forgotten after the run is stored and when the person signs out (with the kept
// pages: tablet/pages.js). A signature or a new photo needs the connection: such a submission is
// not kept (a PIN never goes to storage), the values are.
import { csrfToken } from "./lib/csrf.js";
import { machineNumber } from "./lib/numbers.js";
import { WaitingList } from "./lib/waiting.js";
import { read, remove, write } from "./lib/storage.js";
import { forgetPages, keepPages } from "./tablet/pages.js";

const PREFIX = "mes.checklist.";
const KEPT = gettext("Saved on this tablet, will be sent when the connection returns.");
const SIGN_ONLINE = gettext("Signing needs the connection: your answers are kept on this tablet. Submit again when the connection returns.");
const PHOTO_ONLINE = gettext("A new photo needs the connection: your answers are kept on this tablet. Submit again when the connection returns.");

const submits = new WaitingList(PREFIX + "submits");
let current = null;

const first = document.querySelector(".q-run");
if (first) {
  current = start(first);
  keepPages(first.dataset.serviceWorkerUrl);
  window.addEventListener("online", function () { if (current) current.online(); });
  setInterval(function () { if (current && submits.load().length) current.sendKept(); }, 15000);
  document.addEventListener("submit", function (evt) {
    if (evt.target.matches && evt.target.matches("form.signout")) forgetPages();
  });
}

function forgetRun(runId) {
  remove(PREFIX + runId + ".values");
  remove(PREFIX + runId + ".key");
  submits.load().filter(function (e) { return e.run === runId; }).forEach(function (e) { submits.remove(e.key); });
}

function post(url, body) {
  return fetch(url, {
    method: "POST",
    body: body,
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    credentials: "same-origin",
  });
}

// What the server made of a submission: stored (JSON with where to go), a page to show (the run
// with its error, or the sign-in page), or no answer worth keeping (5xx): send again later.
function answerOf(res) {
  const type = res.headers.get("Content-Type") || "";
  if (res.ok && type.indexOf("application/json") >= 0) {
    return res.json().then(function (d) { return d.submitted ? { stored: true, next: d.next } : { retry: true }; });
  }
  if (res.status >= 500) return { retry: true };
  return res.text().then(function (html) { return { html: html, url: res.url, redirected: res.redirected, status: res.status }; });
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function start(run) {
  const runId = run.dataset.run;
  const operator = run.dataset.operator;
  const saveUrl = run.dataset.saveUrl;
  const form = run.querySelector("[data-run-form]");
  const values = new WaitingList(PREFIX + runId + ".values");
  const keyName = PREFIX + runId + ".key";
  const inflight = {};

  if (run.dataset.status === "completed") {
    forgetRun(runId);
    return { online: function () {}, sendKept: sendKept };
  }

  function itemOf(id) {
    return run.querySelector(".q-item[data-item-id='" + id + "']");
  }

  function itemValue(li) {
    const kind = li.dataset.kind, field = li.dataset.field;
    if (kind === "number" || kind === "text") return li.querySelector("[name='" + field + "']").value;
    if (kind === "check") return li.querySelector("input").checked ? "on" : "";
    const checked = Array.prototype.map.call(li.querySelectorAll("input:checked"), function (i) { return i.value; });
    if (li.dataset.multiple) return checked;
    return checked[0] || "";
  }

  function decimalsOf(text) {
    const i = text.indexOf(".");
    return i < 0 ? 0 : text.length - i - 1;
  }

  // Colour a number as soon as it is typed: in spec, out of spec, or not a valid entry. The
  // limits and the number of decimals are the item's, rendered by the server.
  function judge(li) {
    if (li.dataset.kind !== "number") return;
    const typed = machineNumber(itemValue(li));
    const raw = typed === null ? "?" : typed;
    const verdict = li.querySelector("[data-verdict]");
    li.classList.remove("q-in", "q-out", "q-bad");
    verdict.textContent = "";
    if (raw === "") return;
    if (!/^-?\d+(\.\d*)?$/.test(raw)) { li.classList.add("q-bad"); verdict.textContent = gettext("not a number"); return; }
    if (decimalsOf(raw) > parseInt(li.dataset.decimals || "6", 10)) {
      li.classList.add("q-bad"); verdict.textContent = interpolate(gettext("at most %(decimals)s decimals"), { decimals: li.dataset.decimals }, true); return;
    }
    const v = parseFloat(raw);
    const lo = li.dataset.lsl !== undefined ? parseFloat(li.dataset.lsl) : null;
    const hi = li.dataset.usl !== undefined ? parseFloat(li.dataset.usl) : null;
    if (lo === null && hi === null) return;
    const ok = (lo === null || v >= lo) && (hi === null || v <= hi);
    li.classList.add(ok ? "q-in" : "q-out");
    verdict.textContent = ok ? gettext("in spec") : gettext("OUT OF SPEC");
  }

  function countAnswered() {
    let n = 0;
    run.querySelectorAll(".q-item").forEach(function (li) {
      const v = li.dataset.kind === "photo" ? (li.querySelector("input[type=file]").files.length || li.querySelector(".q-has-photo")) : itemValue(li);
      if (v && v.length !== 0) n += 1;
    });
    const out = run.querySelector("[data-answered]");
    if (out) out.textContent = n;
  }

  function keptSubmission() {
    return submits.first(function (e) { return e.run === runId; });
  }

  // Progress: each value goes to the server as it is entered; until the server has answered it
  // is marked unsent and goes again when the connection is back.
  const timers = {};
  function send(itemId, value, li) {
    const body = new FormData();
    body.append("item", itemId);
    if (Array.isArray(value)) { body.append("multiple", "1"); value.forEach(function (v) { body.append("value", v); }); }
    else body.append("value", value);
    const saved = li && li.querySelector("[data-saved]");
    return fetch(saveUrl, { method: "POST", body: body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        values.update(itemId, function (e) { if (same(e.value, value)) e.sent = true; });
        if (!li) return;
        const err = li.querySelector("[data-item-error]");
        if (res.ok && res.data.ok) { err.hidden = true; li.classList.remove("q-invalid"); if (saved) saved.textContent = gettext("saved"); }
        else { err.hidden = false; err.textContent = (res.data.error || res.data.detail || ""); li.classList.add("q-invalid"); if (saved) saved.textContent = gettext("saved as typed"); }
        if (res.data.in_spec === false) { li.classList.remove("q-in"); li.classList.add("q-out"); }
      })
      .catch(function () { if (saved) saved.textContent = gettext("kept on this tablet: not sent yet"); });
  }
  function queue(li) {
    const id = li.dataset.itemId, value = itemValue(li);
    values.put({ key: id, value: value, sent: false });
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () { send(id, value, li); }, 400);
  }
  function flush() {
    if (keptSubmission()) return; // the submission carries every value
    values.load().filter(function (e) { return !e.sent; }).forEach(function (e) { send(e.key, e.value, itemOf(e.key)); });
  }

  // Every value typed on this tablet comes back, over what the page was rendered with (a kept
  // copy of the page is older than the last values typed).
  values.load().forEach(function (entry) {
    const li = itemOf(entry.key);
    if (!li || li.dataset.kind === "photo") return;
    const value = entry.value;
    if (li.dataset.kind === "number" || li.dataset.kind === "text") li.querySelector("[name]").value = value;
    else if (li.dataset.kind === "check") li.querySelector("input").checked = !!value;
    else li.querySelectorAll("input").forEach(function (i) { i.checked = Array.isArray(value) ? value.indexOf(i.value) >= 0 : i.value === value; });
  });

  run.querySelectorAll(".q-item").forEach(function (li) {
    judge(li);
    if (li.dataset.kind === "photo") return;
    li.addEventListener("input", function () { judge(li); countAnswered(); queue(li); });
    li.addEventListener("change", function () { judge(li); countAnswered(); queue(li); });
  });

  // One item per card or the whole list: the operator's choice, remembered on this tablet.
  let cardIndex = 0;
  function showCard(i) {
    const items = run.querySelectorAll(".q-item");
    cardIndex = Math.max(0, Math.min(items.length - 1, i));
    items.forEach(function (li, j) { li.classList.toggle("q-current", j === cardIndex); });
  }
  function setMode(mode) {
    run.classList.toggle("q-cards", mode === "cards");
    write("q-mode", mode);
    run.querySelectorAll("[data-mode]").forEach(function (b) { b.classList.toggle("btn-primary", b.dataset.mode === mode); });
    if (mode === "cards") showCard(cardIndex);
  }
  run.addEventListener("click", function (evt) {
    const m = evt.target.closest("[data-mode]");
    if (m) setMode(m.dataset.mode);
    const c = evt.target.closest("[data-card]");
    if (c) showCard(cardIndex + (c.dataset.card === "next" ? 1 : -1));
  });
  setMode(read("q-mode") || "list");
  countAnswered();

  const note = form && form.querySelector("[data-run-kept]");
  const button = form && form.querySelector("[data-run-submit]");
  function say(text) {
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
    if (text) note.scrollIntoView({ block: "center" });
  }
  // A kept submission fixes the answers: the inputs wait with it.
  function lock(locked) {
    if (!form) return;
    run.classList.toggle("q-queued", locked);
    form.querySelectorAll("input:not([type=hidden]), textarea, select, [data-keypad] button, [data-run-submit]")
      .forEach(function (el) { el.disabled = locked; });
  }

  // The run is stored: nothing of it stays on this tablet.
  function stored(next) {
    forgetRun(runId);
    window.location.assign(next);
  }

  // The server answered with a page: the run with its errors replaces this one, anything else
  // (the sign-in page after a lost session) is shown whole.
  function showPage(answer) {
    const doc = new DOMParser().parseFromString(answer.html, "text/html");
    const fresh = doc.querySelector(".q-run");
    if (fresh) {
      run.replaceWith(fresh);
      current = start(fresh);
    } else if (answer.redirected) {
      window.location.assign(answer.url);
    } else {
      lock(false);
      say(interpolate(gettext("The server refused this submission (%(status)s)."), { status: answer.status }, true));
    }
  }

  function keep(body) {
    if (run.dataset.signed) { lock(false); say(SIGN_ONLINE); return; }
    const photo = Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (i) { return i.files.length > 0; });
    if (photo) { lock(false); say(PHOTO_ONLINE); return; }
    const fields = [];
    body.forEach(function (value, name) { if (typeof value === "string" && name !== "csrfmiddlewaretoken") fields.push([name, value]); });
    submits.put({ key: body.get("idempotency_key"), run: runId, operator: operator, url: form.action, fields: fields });
    lock(true);
    say(KEPT);
  }

  // Submissions kept on this tablet (this run's, and any other run's of the same person), sent
  // with their keys.
  function sendKept() {
    submits.load().filter(function (e) { return e.operator === operator && !inflight[e.key]; }).forEach(function (entry) {
      const body = new FormData();
      entry.fields.forEach(function (f) { body.append(f[0], f[1]); });
      inflight[entry.key] = true;
      post(entry.url, body).then(answerOf).then(function (answer) {
        if (answer.retry) return;
        if (answer.stored) {
          if (entry.run === runId) stored(answer.next);
          else forgetRun(entry.run);
          return;
        }
        submits.remove(entry.key); // refused: the values stay, the operator sees why
        if (entry.run === runId) { lock(false); showPage(answer); }
      }).catch(function () { /* still no connection: it stays kept */ })
        .then(function () { delete inflight[entry.key]; });
    });
  }

  if (form) {
    const key = read(keyName) || window.mesUuid();
    write(keyName, key);
    form.querySelector("[data-run-key]").value = key;
    form.addEventListener("submit", function (evt) {
      evt.preventDefault();
      if (keptSubmission()) return;
      const body = new FormData(form);
      lock(true);
      say("");
      post(form.action, body).then(answerOf).then(function (answer) {
        if (answer.stored) stored(answer.next);
        else if (answer.retry) keep(body);
        else showPage(answer);
      }, function () { keep(body); });
    });
    if (keptSubmission()) { lock(true); say(KEPT); }
    const firstInvalid = run.querySelector(".q-invalid");
    if (firstInvalid) { firstInvalid.scrollIntoView({ block: "center" }); showCard(Array.prototype.indexOf.call(run.querySelectorAll(".q-item"), firstInvalid)); }
  }

  sendKept();
  flush();
  return {
    online: function () { sendKept(); flush(); },
    sendKept: sendKept,
  };
}
