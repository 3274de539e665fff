// Filling a checklist on the tablet: in/out-of-spec colouring as a value is entered (the
// project's keypad in mes.js types into the numbers), progress saved as the operator goes and
// kept in the browser's outbox through a network drop, one idempotency key per submission.
import { csrfToken } from "./lib/csrf.js";
import { Outbox } from "./lib/outbox.js";
import { read, remove, write } from "./lib/storage.js";

const run = document.querySelector(".q-run");
if (run) start(run);

function start(run) {
  const runId = run.dataset.run;
  const saveUrl = run.dataset.saveUrl;
  const form = run.querySelector("[data-run-form]");
  // Values typed but not yet confirmed by the server, one entry per item (the latest value).
  const waiting = new Outbox("q-run-" + runId + "-pending");

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
    const raw = itemValue(li).trim().replace(",", ".");
    const verdict = li.querySelector("[data-verdict]");
    li.classList.remove("q-in", "q-out", "q-bad");
    verdict.textContent = "";
    if (raw === "") return;
    if (!/^-?\d+(\.\d*)?$/.test(raw)) { li.classList.add("q-bad"); verdict.textContent = "not a number"; return; }
    if (decimalsOf(raw) > parseInt(li.dataset.decimals || "6", 10)) {
      li.classList.add("q-bad"); verdict.textContent = "at most " + li.dataset.decimals + " decimals"; return;
    }
    const v = parseFloat(raw);
    const lo = li.dataset.lsl !== undefined ? parseFloat(li.dataset.lsl) : null;
    const hi = li.dataset.usl !== undefined ? parseFloat(li.dataset.usl) : null;
    if (lo === null && hi === null) return;
    const ok = (lo === null || v >= lo) && (hi === null || v <= hi);
    li.classList.add(ok ? "q-in" : "q-out");
    verdict.textContent = ok ? "in spec" : "OUT OF SPEC";
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

  // Progress: each value goes to the server as it is entered; what the server has not confirmed
  // stays in the outbox and is sent again when the connection is back.
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
        waiting.remove(itemId);
        if (!li) return;
        const err = li.querySelector("[data-item-error]");
        if (res.ok && res.data.ok) { err.hidden = true; li.classList.remove("q-invalid"); if (saved) saved.textContent = "saved"; }
        else { err.hidden = false; err.textContent = (res.data.error || res.data.detail || ""); li.classList.add("q-invalid"); if (saved) saved.textContent = "saved as typed"; }
        if (res.data.in_spec === false) { li.classList.remove("q-in"); li.classList.add("q-out"); }
      })
      .catch(function () { if (saved) saved.textContent = "kept on this tablet: not sent yet"; });
  }
  function queue(li) {
    const id = li.dataset.itemId, value = itemValue(li);
    waiting.put({ key: id, value: value });
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () { send(id, value, li); }, 400);
  }
  function flush() {
    waiting.load().slice().forEach(function (entry) { send(entry.key, entry.value, itemOf(entry.key)); });
  }
  window.addEventListener("online", flush);

  // Values typed but never confirmed by the server (a reload during a drop) come back.
  waiting.load().forEach(function (entry) {
    const li = itemOf(entry.key);
    if (!li) return;
    const value = entry.value;
    if (li.dataset.kind === "number" || li.dataset.kind === "text") li.querySelector("[name]").value = value;
    else if (li.dataset.kind === "check") li.querySelector("input").checked = !!value;
    else li.querySelectorAll("input").forEach(function (i) { i.checked = Array.isArray(value) ? value.indexOf(i.value) >= 0 : i.value === value; });
  });
  flush();

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

  // The submission's key is kept with the run, so a resend after a lost answer is the same one.
  if (form) {
    const keyName = "q-run-" + runId + "-key";
    const key = read(keyName) || window.mesUuid();
    write(keyName, key);
    form.querySelector("[data-run-key]").value = key;
    form.addEventListener("submit", function () {
      remove(waiting.name);
      form.querySelector("[data-run-submit]").disabled = true;
    });
    const firstInvalid = run.querySelector(".q-invalid");
    if (firstInvalid) { firstInvalid.scrollIntoView({ block: "center" }); showCard(Array.prototype.indexOf.call(run.querySelectorAll(".q-item"), firstInvalid)); }
  }
}
