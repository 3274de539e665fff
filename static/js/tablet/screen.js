// What the tablet's screen shows: the last tap's status, the connection, the taps waiting in the
// waiting, and the operation and downtime as they will be once those taps are saved. What each
// state offers comes from the server (the counters' data-actions and data-moves, the downtime
// banner's data-opened-by and data-closed-by); this only applies it.
import { typedNumber } from "../lib/numbers.js";

const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };

function parsed(text, fallback) {
  try {
    return JSON.parse(text || "");
  } catch (e) {
    return fallback;
  }
}

function fmt(n) {
  return String(Math.round(n * 1000) / 1000);
}

export function setStatus(state, text) {
  const el = document.getElementById("tap-status");
  if (!el) return;
  const time = new Date().toLocaleTimeString([], CLOCK);
  el.className = "tap-status tap-" + state;
  el.title = text;
  el.textContent = (state === "saved" ? "✓ " : state === "refused" ? "✗ " : "… ") + text + " · " + time;
}

// One offline state for the whole screen: the badge, and one line saying that taps are kept.
// A failed background read only changes this; it raises no alarm (nothing was being saved).
export function setConnection(isOnline) {
  const el = document.getElementById("connection");
  if (!el) return;
  el.textContent = isOnline ? gettext("Online") : gettext("Offline");
  el.className = "connection " + (isOnline ? "is-online" : "is-offline");
  const box = document.getElementById("waiting");
  if (box) box.classList.toggle("is-offline", !isOnline);
  const note = document.getElementById("offline-note");
  if (note) note.hidden = isOnline;
}

// `taps`: every tap waiting on this tablet; `operator`: the person signed in (their taps count).
export function render(taps, operator) {
  const box = document.getElementById("waiting");
  if (!box) return;
  const count = document.getElementById("waiting-count");
  const list = document.getElementById("waiting-list");
  box.dataset.count = String(taps.length);
  box.classList.toggle("has-waiting", taps.length > 0);
  count.textContent = String(taps.length);
  list.textContent = "";
  taps.forEach(function (t) {
    const li = document.createElement("li");
    const when = new Date(t.occurred_at).toLocaleTimeString([], CLOCK);
    let note = gettext("waiting to send");
    if (t.user !== operator) {
      note = t.userName
        ? interpolate(gettext("waits for %(name)s to sign in"), { name: t.userName }, true)
        : gettext("waits for its operator to sign in");
    } else if (t.error) {
      note = interpolate(gettext("waiting to send (%(problem)s)"), { problem: t.error }, true);
    }
    li.textContent = when + " · " + t.label + " · " + note;
    list.appendChild(li);
  });
  // Keep the end of the page clear of the fixed waiting bar, however tall its list grows.
  const home = box.closest(".workstation-home");
  if (home) home.style.paddingBottom = box.offsetHeight + 16 + "px";
  const mine = taps.filter(function (t) { return t.user === operator; });
  renderOperation(mine);
  renderDowntime(mine);
}

// The buttons offer what the server's table gives for the state this operator's waiting taps
// lead to, so an operator working offline can start and count.
function renderOperation(taps) {
  const screen = document.getElementById("ws-screen");
  const counters = document.getElementById("op-counters");
  if (!screen || !counters || screen.dataset.screen !== "operation") return;
  const op = screen.dataset.operation;
  const actions = parsed(counters.dataset.actions, {});
  const moves = parsed(counters.dataset.moves, {});
  let status = counters.dataset.status;
  const pending = {};
  taps.forEach(function (t) {
    if (t.operation !== op) return;
    if (moves[t.kind]) status = moves[t.kind];
    if (t.quantity) pending[t.kind] = (pending[t.kind] || 0) + (typedNumber(t.quantity) || 0);
  });
  const offered = actions[status] || [];
  screen.dataset.eff = status;
  screen.querySelectorAll("[data-action]").forEach(function (b) {
    b.disabled = offered.indexOf(b.dataset.action) < 0;
  });
  counters.querySelectorAll("[data-pending]").forEach(function (el) {
    const n = pending[el.dataset.pending] || 0;
    el.textContent = n ? interpolate(gettext("+%(quantity)s waiting"), { quantity: fmt(n) }, true) : "";
  });
}

function renderDowntime(taps) {
  const banner = document.getElementById("downtime-banner");
  if (!banner) return;
  const serverOpen = banner.dataset.open === "1";
  let open = serverOpen;
  taps.forEach(function (t) {
    if (t.kind === banner.dataset.openedBy) open = true;
    if (t.kind === banner.dataset.closedBy) open = false;
  });
  banner.classList.toggle("dt-waiting", open !== serverOpen);
  let note = banner.querySelector(".dt-note");
  if (open !== serverOpen) {
    if (!note) {
      note = document.createElement("span");
      note.className = "dt-note";
      banner.appendChild(note);
    }
    note.textContent = open ? gettext("Downtime reported: waiting to send") : gettext("End of downtime: waiting to send");
  } else if (note) {
    note.remove();
  }
}

export function tickClocks(now) {
  document.querySelectorAll("[data-since]").forEach(function (el) {
    const since = Date.parse(el.dataset.since);
    if (isNaN(since)) return;
    const s = Math.max(0, Math.floor((now - since) / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const span = h + ":" + (m < 10 ? "0" : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
    el.textContent = interpolate(gettext("for %(duration)s"), { duration: span }, true);
  });
}

export function showFormError(form, text) {
  const el = form.querySelector("[data-form-error]");
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
}
