// Fill the dashboard's server-rendered elements (a line's tile, a workstation) with the values of
// a snapshot or a delta. The markup and the URLs are the page's; only text, classes and what is
// shown change here.

// The words for the codes a snapshot carries. The server's labels are in the language of whoever
// caused a delta, so the page names each code in its own language and falls back to the label.
const STATES = {
  running: gettext("Running"),
  idle: gettext("Idle"),
  down: gettext("Down"),
  setup: gettext("Setup"),
  blocked: gettext("Blocked"),
  offline: gettext("Offline"),
  unknown: gettext("Unknown"),
};
const OPERATION_STATES = { running: gettext("running"), paused: gettext("paused") };
const EVENT_KINDS = {
  order_status: gettext("Order status changed"),
  start: gettext("Operation started"),
  pause: gettext("Operation paused"),
  resume: gettext("Operation resumed"),
  good: gettext("Good quantity recorded"),
  complete: gettext("Good quantity recorded"),
  scrap: gettext("Scrap recorded"),
  downtime_start: gettext("Downtime started"),
  downtime_end: gettext("Downtime ended"),
  consume: gettext("Material consumed"),
};
// Reason codes are plant content, named by the plant in each language: the page carries the names
// in the reader's language; a reason it does not know yet keeps the name the message brought.
const REASON_NAMES = pageReasonNames();

function pageReasonNames() {
  const script = document.getElementById("reason-names");
  try { return script ? JSON.parse(script.textContent) : {}; } catch (e) { return {}; }
}

export function reasonName(r) {
  return REASON_NAMES[r.reason_code] || r.reason;
}

const ANDON_KINDS = {
  help: gettext("Help"),
  material: gettext("Material"),
  quality: gettext("Quality"),
  maintenance: gettext("Maintenance"),
};

export function eventLabel(e) {
  return EVENT_KINDS[e.kind] || e.label;
}

export function andonLabel(a) {
  return ANDON_KINDS[a.kind] || a.label;
}

export function hm(iso, tz) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz }).format(new Date(iso));
}

export function duration(fromIso) {
  const s = Math.max(0, Math.floor((Date.now() - new Date(fromIso).getTime()) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
}

// How long ago, in words a person reads at a glance: "under 1 min", "41 min", "2 h 05 min".
export function age(fromIso) {
  const m = Math.max(0, Math.floor((Date.now() - new Date(fromIso).getTime()) / 60000));
  if (m < 1) return gettext("under 1 min");
  if (m < 60) return interpolate(gettext("%(minutes)s min"), { minutes: m }, true);
  return interpolate(gettext("%(hours)s h %(minutes)s min"), { hours: Math.floor(m / 60), minutes: String(m % 60).padStart(2, "0") }, true);
}

// The counting window, named so that no one reads "Late since 14:00" as "running late": a shift
// with its hours, else the time off shift (overtime still counts) or the calendar day.
export function windowLabel(w, tz) {
  const start = hm(w.start, tz), end = hm(w.end, tz);
  if (w.name === "Off shift") return interpolate(gettext("Off shift since %(start)s · next shift %(end)s"), { start: start, end: end }, true);
  if (w.name === "Day") return interpolate(gettext("Today (no shift calendar) · counted since %(start)s"), { start: start }, true);
  return interpolate(gettext("Shift “%(name)s” (%(start)s–%(end)s) started %(start)s"), { name: w.name, start: start, end: end }, true);
}

export function pct(v) {
  return v === null || v === undefined ? gettext("n/a") : Math.round(v) + " %";
}

export function setField(el, name, text) {
  const f = el.querySelector("[data-field='" + name + "']");
  if (f) f.textContent = text === null || text === undefined ? "" : text;
  return f;
}

export function show(el, shown) {
  if (el) el.hidden = !shown;
  return el;
}

function part(el, name, shown) {
  return show(el.querySelector("[data-part='" + name + "']"), shown);
}

// A running clock since `since` (the page's timer ticks it every second), or none. A `blank`
// clock shows nothing until the first tick.
export function setTimer(el, since, blank = false) {
  const t = el.querySelector("[data-timer]");
  if (!t) return;
  if (since) {
    t.dataset.since = since;
    if (!blank) t.textContent = duration(since);
  } else {
    delete t.dataset.since;
    t.textContent = "";
  }
}

function setState(el, state) {
  el.classList.remove("state-" + el.dataset.state);
  el.classList.add("state-" + state);
  el.dataset.state = state;
  setField(el, "state", (STATES[state] || state).toUpperCase());
}

function tile(t, l, tz) {
  setState(t, l.state);
  t.classList.toggle("andon-flash", l.andon.some(function (a) { return a.status === "open"; }));
  setField(t, "link", l.code);
  setField(t, "name", " " + l.name);
  part(t, "connecting", false);
  part(t, "figures", true);
  setField(t, "good", l.good);
  setField(t, "scrap", l.scrap);
  setField(t, "oee", pct(l.oee.oee));
  part(t, "order", !!l.order);
  part(t, "no-order", !l.order);
  if (l.order) {
    setField(t, "order", l.order.number + " · " + l.order.product + " · " + l.order.good + " / " + l.order.quantity);
    const bar = t.querySelector("[data-part='order'] .progress");
    bar.setAttribute("aria-valuenow", l.order.progress);
    bar.querySelector("span").style.width = l.order.progress + "%";
  }
  // Two orders open at once (one paused for the other, say): name each with its station and state.
  const orders = t.querySelector("[data-part='orders']");
  if (orders && l.orders) {
    orders.textContent = "";
    l.orders.forEach(function (o) {
      const li = document.createElement("li");
      li.className = "tile-open-order is-" + o.state;
      li.dataset.order = o.number;
      li.textContent = o.number + " · " + o.workstation + " · " + (OPERATION_STATES[o.state] || o.state);
      orders.appendChild(li);
    });
    show(orders, l.orders.length > 1);
  }
  part(t, "downtime", !!l.downtime);
  setField(t, "downtime", l.downtime ? reasonName(l.downtime) : "");
  setTimer(t, l.downtime ? l.downtime.since : null);
  const fig = l.figures || {};
  const quality = [];
  if (fig.nonconformances) {
    const text = ngettext("%(count)s open nonconformance", "%(count)s open nonconformances", fig.nonconformances);
    quality.push(interpolate(text, { count: fig.nonconformances }, true));
  }
  if (fig.holds) {
    quality.push(interpolate(ngettext("%(count)s order hold", "%(count)s order holds", fig.holds), { count: fig.holds }, true));
  }
  show(setField(t, "quality", quality.join(" · ")), quality.length > 0);
  const andon = l.andon.map(function (x) { return andonLabel(x) + " @ " + x.workstation; }).join(", ");
  show(setField(t, "andon", interpolate(gettext("Andon: %(calls)s"), { calls: andon }, true)), l.andon.length > 0);
  part(t, "foot", true);
  const parts = { availability: pct(l.oee.availability), performance: pct(l.oee.performance), quality: pct(l.oee.quality) };
  setField(t, "oee-parts", interpolate(gettext("A %(availability)s · P %(performance)s · Q %(quality)s"), parts, true));
  setField(t, "last-event", l.last_event_at ? interpolate(gettext("last event %(time)s"), { time: hm(l.last_event_at, tz) }, true) : gettext("no events yet"));
}

function station(c, w) {
  setState(c, w.state);
  c.classList.toggle("andon-flash", !!w.andon_open);
  setField(c, "code", w.code + " ");
  setField(c, "name", w.name);
  let work = gettext("No operation");
  if (w.order) {
    const text = w.operation_state === "paused" ? gettext("%(order)s · op %(operation)s (paused)") : gettext("%(order)s · op %(operation)s");
    work = interpolate(text, { order: w.order, operation: w.operation }, true);
  }
  setField(c, "work", work);
  setField(c, "good", interpolate(gettext("Good %(quantity)s"), { quantity: w.good }, true));
  setField(c, "scrap", interpolate(gettext("Scrap %(quantity)s"), { quantity: w.scrap }, true));
  setField(c, "oee", interpolate(gettext("OEE %(value)s"), { value: pct(w.oee.oee) }, true));
  part(c, "downtime", !!w.downtime);
  setField(c, "downtime", w.downtime ? reasonName(w.downtime) : "");
  setTimer(c, w.downtime ? w.downtime.since : null);
}

export const fill = { tile: tile, station: station };
