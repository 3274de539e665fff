// Fill the dashboard's server-rendered elements (a line's tile, a workstation) with the values of
// a snapshot or a delta. The markup and the URLs are the page's; only text, classes and what is
// shown change here.

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
  if (m < 1) return "under 1 min";
  return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
}

// The counting window, named so that no one reads "Late since 14:00" as "running late": a shift
// with its hours, else the time off shift (overtime still counts) or the calendar day.
export function windowLabel(w, tz) {
  const start = hm(w.start, tz), end = hm(w.end, tz);
  if (w.name === "Off shift") return "Off shift since " + start + " · next shift " + end;
  if (w.name === "Day") return "Today (no shift calendar) · counted since " + start;
  return "Shift “" + w.name + "” (" + start + "–" + end + ") started " + start;
}

export function pct(v) {
  return v === null || v === undefined ? "n/a" : Math.round(v) + " %";
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
  setField(el, "state", state.toUpperCase());
}

function plural(n, word) {
  return n + " " + word + (n > 1 ? "s" : "");
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
      li.textContent = o.number + " · " + o.workstation + " · " + o.state;
      orders.appendChild(li);
    });
    show(orders, l.orders.length > 1);
  }
  part(t, "downtime", !!l.downtime);
  setField(t, "downtime", l.downtime ? l.downtime.reason : "");
  setTimer(t, l.downtime ? l.downtime.since : null);
  const fig = l.figures || {};
  const quality = [];
  if (fig.nonconformances) quality.push(plural(fig.nonconformances, "open nonconformance"));
  if (fig.holds) quality.push(plural(fig.holds, "order hold"));
  show(setField(t, "quality", quality.join(" · ")), quality.length > 0);
  const andon = l.andon.map(function (x) { return x.label + " @ " + x.workstation; }).join(", ");
  show(setField(t, "andon", "Andon: " + andon), l.andon.length > 0);
  part(t, "foot", true);
  setField(t, "oee-parts", "A " + pct(l.oee.availability) + " · P " + pct(l.oee.performance) + " · Q " + pct(l.oee.quality));
  setField(t, "last-event", l.last_event_at ? "last event " + hm(l.last_event_at, tz) : "no events yet");
}

function station(c, w) {
  setState(c, w.state);
  c.classList.toggle("andon-flash", !!w.andon_open);
  setField(c, "code", w.code + " ");
  setField(c, "name", w.name);
  setField(c, "work", w.order ? w.order + " · op " + w.operation + (w.operation_state === "paused" ? " (paused)" : "") : "No operation");
  setField(c, "good", "Good " + w.good);
  setField(c, "scrap", "Scrap " + w.scrap);
  setField(c, "oee", "OEE " + pct(w.oee.oee));
  part(c, "downtime", !!w.downtime);
  setField(c, "downtime", w.downtime ? w.downtime.reason : "");
  setTimer(c, w.downtime ? w.downtime.since : null);
}

export const fill = { tile: tile, station: station };
