/* Live dashboards: a websocket snapshot, then deltas; gaps re-read the snapshot; heartbeats keep
   the connection honest; reconnects back off; while not live the page says so ("stale since")
   and greys the figures out, so an old number is never shown as a current one.

   The page renders the tiles, and <template>s of what the snapshot may bring that it does not
   have yet (a line, a workstation, an andon call, an event) with their URLs and the answers this
   person may give; this script clones and fills them with the values of the messages. */
import { csrfToken } from "./lib/csrf.js";
import { drawChart } from "./live/chart.js";
import { age, andonLabel, duration, eventLabel, fill, hm, reasonName, setField, setTimer, show, windowLabel } from "./live/fill.js";

const root = document.querySelector("[data-live]");
if (root) start(root);

function start(root) {
  const scope = root.dataset.scope;
  const heartbeat = parseFloat(root.dataset.heartbeat || "15") * 1000;
  const tz = root.dataset.tz || undefined;
  const FINAL = { 4401: 1, 4403: 1, 4404: 1 };
  const lines = {}; // id -> summary
  let order = []; // line ids in display order
  let events = [];
  let ws = null, attempt = 0, lastMessageAt = 0, liveSince = null, staleSince = new Date(), final = false;
  let snapshotPending = false;
  window.mesLive = { lines: lines, gaps: 0, snapshots: 0, deltas: 0 };

  function $(sel) { return root.querySelector(sel); }
  function hms(d) {
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: tz }).format(d);
  }
  function clone(name) {
    return $("template[data-template='" + name + "']").content.firstElementChild.cloneNode(true);
  }
  // A URL the page rendered for id 0, for another id.
  function urlFor(pattern, id) {
    return pattern.replace("/0/", "/" + id + "/");
  }

  // --- connection -------------------------------------------------------------------------------
  function url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
  }
  function connect() {
    setConn("connecting", gettext("Connecting…"));
    try { ws = new WebSocket(url()); } catch (e) { return retry(); }
    ws.onopen = function () { lastMessageAt = Date.now(); };
    ws.onmessage = function (m) {
      lastMessageAt = Date.now();
      let msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "snapshot") onSnapshot(msg);
      else if (msg.type === "delta") onDelta(msg);
      else if (msg.type === "heartbeat") onHeartbeat(msg);
      else if (msg.type === "denied") { final = true; setStale(msg.reason); }
    };
    ws.onclose = function (e) {
      ws = null;
      if (FINAL[e.code]) final = true;
      goStale(final ? (e.reason || gettext("Not allowed.")) : null);
      if (!final) retry();
    };
  }
  function retry() {
    const delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
    attempt += 1;
    setTimeout(connect, delay);
  }
  function send(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }
  function requestSnapshot() {
    if (snapshotPending) return;
    snapshotPending = true;
    send({ type: "snapshot" });
  }

  // --- state ------------------------------------------------------------------------------------
  function goLive() {
    attempt = 0;
    if (!liveSince) liveSince = new Date();
    staleSince = null;
    document.body.classList.remove("live-is-stale");
    $("[data-stale]").hidden = true;
    setConn("live", gettext("Live"));
  }
  function goStale(reason) {
    if (!staleSince) staleSince = new Date(lastMessageAt || Date.now());
    liveSince = null;
    setStale(reason);
  }
  function setStale(reason) {
    document.body.classList.add("live-is-stale");
    $("[data-stale]").hidden = false;
    $("[data-stale-text]").textContent = reason
      ? reason
      : interpolate(gettext("Stale since %(time)s: the connection is lost, the figures below are not current. Reconnecting…"), { time: hms(staleSince) }, true);
    setConn("stale", reason ? gettext("Closed") : interpolate(gettext("Stale since %(time)s"), { time: hms(staleSince) }, true));
  }
  function setConn(state, text) {
    const c = $("[data-conn]");
    c.dataset.state = state;
    c.textContent = text;
  }

  function onSnapshot(msg) {
    snapshotPending = false;
    window.mesLive.snapshots += 1;
    order = [];
    msg.lines.forEach(function (l) { lines[l.id] = l; order.push(l.id); });
    if (msg.events) events = msg.events.slice();
    goLive();
    render();
  }
  function onDelta(msg) {
    window.mesLive.deltas += 1;
    const d = msg.line, cur = lines[d.id];
    if (!cur) return requestSnapshot();
    if (msg.seq <= cur.seq) return; // already seen (a snapshot was newer)
    if (msg.seq > cur.seq + 1) { window.mesLive.gaps += 1; return requestSnapshot(); }
    const stations = cur.workstations.slice();
    d.workstations.forEach(function (w) {
      const i = stations.findIndex(function (x) { return x.id === w.id; });
      if (i >= 0) stations[i] = w; else stations.push(w);
    });
    d.workstations = stations;
    if (d.figures === undefined) d.figures = cur.figures; // production deltas leave them out
    lines[d.id] = d;
    if (scope === "line") {
      // A busy line's delta carries every event since the last one, oldest first.
      (msg.events || (msg.event ? [msg.event] : [])).forEach(function (e) { events.unshift(e); });
      events = events.slice(0, 15);
    }
    render();
  }
  function onHeartbeat(msg) {
    Object.keys(msg.seqs || {}).forEach(function (id) {
      const cur = lines[id];
      if (!cur || msg.seqs[id] > cur.seq) requestSnapshot(); // a change whose delta never came
    });
  }

  // Watchdog: no message for 2.5 heartbeats means a dead connection, whatever the socket says.
  setInterval(function () {
    $("[data-clock]").textContent = hms(new Date());
    if (ws && ws.readyState === 1 && Date.now() - lastMessageAt > heartbeat * 2.5) {
      goStale(null);
      ws.close();
    }
    if (staleSince && !final) setStale(null);
    root.querySelectorAll("[data-since]").forEach(function (e) {
      e.textContent = e.dataset.age ? e.dataset.age + " " + age(e.dataset.since) : duration(e.dataset.since);
    });
  }, 1000);
  // Time-based figures (OEE, downtime) move without events: re-read the snapshot each minute.
  setInterval(function () { requestSnapshot(); loadChart(); }, 60000);

  // --- rendering: the page's elements, filled ---------------------------------------------------
  // Keep the elements `keyed` by id in `box`, in `ids` order: reuse those the page has, clone the
  // template for the others, drop the ones that are gone.
  function keyed(box, attr, template, ids, each) {
    const have = {};
    box.querySelectorAll("[" + attr + "]").forEach(function (e) { have[e.getAttribute(attr)] = e; });
    const wanted = ids.map(function (id) {
      let e = have[String(id)];
      if (!e) {
        e = clone(template);
        e.setAttribute(attr, String(id));
      }
      each(e, id);
      return e;
    });
    box.replaceChildren.apply(box, wanted);
  }

  function andonItem(a, lineCode) {
    const li = clone("andon");
    li.classList.add("andon-" + a.status);
    setField(li, "label", andonLabel(a));
    // Each number says what it is: "since 16:45 · open 41 min", not "16:45 41:25".
    const where = (lineCode ? lineCode + "/" : "") + a.workstation;
    setField(li, "where", " " + interpolate(gettext("%(where)s · since %(time)s"), { where: where, time: hm(a.raised_at, tz) }, true) + " · ");
    setTimer(li, a.raised_at, true);
    show(setField(li, "note", a.note), !!a.note);
    const taken = interpolate(gettext("Taken by %(name)s at %(time)s"), { name: a.acknowledged_by, time: a.acknowledged_at ? hm(a.acknowledged_at, tz) : "" }, true);
    show(setField(li, "taken", taken), a.status === "acknowledged");
    li.querySelectorAll("[data-andon-action]").forEach(function (b) {
      if ((b.dataset.when || "").split(" ").indexOf(a.status) < 0) b.remove();
      else b.dataset.url = urlFor(b.dataset.url, a.id);
    });
    return li;
  }

  function eventItem(e) {
    const li = clone("event");
    li.classList.add("event-" + e.kind);
    setField(li, "at", hm(e.at, tz));
    setField(li, "what", " " + e.workstation + " · " + eventLabel(e) + (e.quantity ? " " + e.quantity : "") + (e.order ? " · " + e.order : "") + (e.reason ? " · " + reasonName(e) : ""));
    return li;
  }

  let rotateIndex = 0;
  function render() {
    keyed($("[data-tiles]"), "data-line-id", "tile", order, function (t, id) {
      const link = t.querySelector("[data-field=link]");
      if (!link.getAttribute("href")) link.href = urlFor(root.dataset.lineUrl, id);
      fill.tile(t, lines[id], tz);
    });
    applyRotation();
    const first = lines[order[0]];
    if (first) $("[data-window]").textContent = windowLabel(first.window, tz);
    const items = [];
    order.forEach(function (id) { lines[id].andon.forEach(function (a) { items.push(andonItem(a, scope === "site" ? lines[id].code : "")); }); });
    if (!items.length) items.push(clone("andon-none"));
    const list = $("[data-andon-list]");
    list.replaceChildren.apply(list, items);
    if (scope === "line" && first) {
      const byId = {};
      first.workstations.forEach(function (w) { byId[w.id] = w; });
      keyed($("[data-stations]"), "data-workstation-id", "station", first.workstations.map(function (w) { return w.id; }), function (c, id) {
        fill.station(c, byId[id]);
      });
      const ev = $("[data-events]");
      ev.replaceChildren.apply(ev, events.map(eventItem));
    }
  }
  function applyRotation() {
    const secs = parseInt(root.dataset.rotate || "0", 10);
    if (!secs || scope !== "site") return;
    const tiles = root.querySelectorAll(".tile");
    tiles.forEach(function (t, i) { t.classList.toggle("tile-current", i === rotateIndex % tiles.length); });
    root.classList.add("rotating");
  }
  if (parseInt(root.dataset.rotate || "0", 10) > 0) {
    setInterval(function () { rotateIndex += 1; applyRotation(); }, parseInt(root.dataset.rotate, 10) * 1000);
  }

  // An answer to an andon call: the buttons carry their URL; the next snapshot shows the result.
  root.addEventListener("click", function (evt) {
    const b = evt.target.closest("[data-andon-action]");
    if (!b || b.disabled) return;
    b.disabled = true;
    fetch(b.dataset.url, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
      .then(function () { requestSnapshot(); })
      .catch(function () { b.disabled = false; });
  });

  function loadChart() {
    const box = $("[data-chart-box]");
    if (box && root.dataset.chart) drawChart(box, root.dataset.chart, tz);
  }

  connect();
  if (document.readyState === "complete") loadChart(); else window.addEventListener("load", loadChart);
}
