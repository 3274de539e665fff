/* Live dashboards: a websocket snapshot, then deltas; gaps re-read the snapshot; heartbeats keep
   the connection honest; reconnects back off; while not live the page says so ("stale since")
   and greys the figures out, so an old number is never shown as a current one. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root) return;
  var scope = root.dataset.scope;
  var heartbeat = parseFloat(root.dataset.heartbeat || "15") * 1000;
  var tz = root.dataset.tz || undefined;
  var canAnswer = root.dataset.canAnswer === "1";
  var FINAL = { 4401: 1, 4403: 1, 4404: 1 };
  var lines = {}; // id -> summary
  var order = []; // line ids in display order
  var events = [];
  var ws = null, attempt = 0, lastMessageAt = 0, liveSince = null, staleSince = new Date(), final = false;
  var snapshotPending = false, chart = null;
  window.mesLive = { lines: lines, gaps: 0, snapshots: 0, deltas: 0 };

  function $(sel, el) { return (el || root).querySelector(sel); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function hms(d) {
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: tz }).format(d);
  }
  function hm(iso) {
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz }).format(new Date(iso));
  }
  function duration(fromIso) {
    var s = Math.max(0, Math.floor((Date.now() - new Date(fromIso).getTime()) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
  }
  function pct(v) { return v === null || v === undefined ? "n/a" : Math.round(v) + " %"; }

  // --- connection -------------------------------------------------------------------------------
  function url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
  }
  function connect() {
    setConn("connecting", "Connecting…");
    try { ws = new WebSocket(url()); } catch (e) { return retry(); }
    ws.onopen = function () { lastMessageAt = Date.now(); };
    ws.onmessage = function (m) {
      lastMessageAt = Date.now();
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "snapshot") onSnapshot(msg);
      else if (msg.type === "delta") onDelta(msg);
      else if (msg.type === "heartbeat") onHeartbeat(msg);
      else if (msg.type === "denied") { final = true; setStale(msg.reason); }
    };
    ws.onclose = function (e) {
      ws = null;
      if (FINAL[e.code]) final = true;
      goStale(final ? (e.reason || "Not allowed.") : null);
      if (!final) retry();
    };
  }
  function retry() {
    var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
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
    setConn("live", "Live");
  }
  function goStale(reason) {
    if (!staleSince) staleSince = new Date(lastMessageAt || Date.now());
    liveSince = null;
    setStale(reason);
  }
  function setStale(reason) {
    document.body.classList.add("live-is-stale");
    var banner = $("[data-stale]");
    banner.hidden = false;
    $("[data-stale-text]").textContent = reason
      ? reason
      : "Stale since " + hms(staleSince) + ": the connection is lost, the figures below are not current. Reconnecting…";
    setConn("stale", reason ? "Closed" : "Stale since " + hms(staleSince));
  }
  function setConn(state, text) {
    var c = $("[data-conn]");
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
    var d = msg.line, cur = lines[d.id];
    if (!cur) return requestSnapshot();
    if (msg.seq <= cur.seq) return; // already seen (a snapshot was newer)
    if (msg.seq > cur.seq + 1) { window.mesLive.gaps += 1; return requestSnapshot(); }
    var stations = cur.workstations.slice();
    d.workstations.forEach(function (w) {
      var i = stations.findIndex(function (x) { return x.id === w.id; });
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
      var cur = lines[id];
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
    root.querySelectorAll("[data-since]").forEach(function (e) { e.textContent = duration(e.dataset.since); });
  }, 1000);
  // Time-based figures (OEE, downtime) move without events: re-read the snapshot each minute.
  setInterval(function () { requestSnapshot(); loadChart(); }, 60000);

  // --- rendering --------------------------------------------------------------------------------
  function tile(l) {
    var t = el("article", "tile state-" + l.state);
    t.dataset.lineId = l.id;
    t.dataset.state = l.state;
    var open = l.andon.filter(function (a) { return a.status === "open"; });
    if (open.length) t.classList.add("andon-flash");
    var head = el("header");
    var h = el("h2");
    var link = el("a", null, l.code);
    link.href = "/live/lines/" + l.id + "/" + (document.body.classList.contains("live-wall") ? "?wall=1" : "");
    h.appendChild(link);
    h.appendChild(el("small", null, " " + l.name));
    head.appendChild(h);
    head.appendChild(el("span", "tile-state", l.state.toUpperCase()));
    t.appendChild(head);
    var nums = el("div", "tile-nums");
    [["good", l.good, "Good"], ["scrap", l.scrap, "Scrap"], ["oee", pct(l.oee.oee), "OEE"]].forEach(function (n) {
      var b = el("div", "num num-" + n[0]);
      var v = el("span", "num-value", n[1]);
      v.dataset.field = n[0];
      b.appendChild(v);
      b.appendChild(el("span", "num-label", n[2]));
      nums.appendChild(b);
    });
    t.appendChild(nums);
    if (l.order) {
      var o = el("div", "tile-order");
      o.appendChild(el("span", null, l.order.number + " · " + l.order.product + " · " + l.order.good + " / " + l.order.quantity));
      var bar = el("div", "progress");
      var fill = el("span");
      fill.style.width = l.order.progress + "%";
      bar.appendChild(fill);
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuenow", l.order.progress);
      o.appendChild(bar);
      t.appendChild(o);
    } else {
      t.appendChild(el("div", "tile-order muted", "No order running"));
    }
    if (l.downtime) {
      var dt = el("div", "tile-downtime");
      dt.appendChild(el("span", null, l.downtime.reason + " "));
      var c = el("span", "timer");
      c.dataset.since = l.downtime.since;
      c.textContent = duration(l.downtime.since);
      dt.appendChild(c);
      t.appendChild(dt);
    }
    var fig = l.figures || {};
    if (fig.nonconformances || fig.holds) {
      var q = el("div", "tile-quality");
      q.dataset.field = "quality";
      var parts = [];
      if (fig.nonconformances) parts.push(fig.nonconformances + " open nonconformance" + (fig.nonconformances > 1 ? "s" : ""));
      if (fig.holds) parts.push(fig.holds + " order hold" + (fig.holds > 1 ? "s" : ""));
      q.textContent = parts.join(" · ");
      t.appendChild(q);
    }
    if (l.andon.length) {
      var a = el("div", "tile-andon");
      a.textContent = "Andon: " + l.andon.map(function (x) { return x.label + " @ " + x.workstation; }).join(", ");
      t.appendChild(a);
    }
    var f = el("footer", "tile-foot");
    f.appendChild(el("span", null, "A " + pct(l.oee.availability) + " · P " + pct(l.oee.performance) + " · Q " + pct(l.oee.quality)));
    f.appendChild(el("span", null, l.last_event_at ? "last event " + hm(l.last_event_at) : "no events yet"));
    t.appendChild(f);
    return t;
  }
  function station(w) {
    var c = el("article", "station state-" + w.state);
    c.dataset.workstationId = w.id;
    var h = el("header");
    h.appendChild(el("h3", null, w.code + " "));
    h.appendChild(el("span", "tile-state", w.state.toUpperCase()));
    c.appendChild(h);
    c.appendChild(el("p", "muted", w.name));
    c.appendChild(el("p", null, w.order ? w.order + " · op " + w.operation + (w.operation_state === "paused" ? " (paused)" : "") : "No operation"));
    var nums = el("p", "station-nums");
    nums.appendChild(el("span", null, "Good " + w.good));
    nums.appendChild(el("span", null, "Scrap " + w.scrap));
    nums.appendChild(el("span", null, "OEE " + pct(w.oee.oee)));
    c.appendChild(nums);
    if (w.downtime) {
      var d = el("p", "tile-downtime");
      d.appendChild(el("span", null, w.downtime.reason + " "));
      var t = el("span", "timer");
      t.dataset.since = w.downtime.since;
      t.textContent = duration(w.downtime.since);
      d.appendChild(t);
      c.appendChild(d);
    }
    if (w.andon_open) c.classList.add("andon-flash");
    return c;
  }
  function andonItem(a, lineCode) {
    var li = el("li", "andon-item andon-" + a.status);
    li.appendChild(el("strong", null, a.label));
    li.appendChild(el("span", null, " " + (lineCode ? lineCode + "/" : "") + a.workstation + " · " + hm(a.raised_at) + " "));
    var t = el("span", "timer");
    t.dataset.since = a.raised_at;
    li.appendChild(t);
    if (a.note) li.appendChild(el("p", "muted", a.note));
    if (a.status === "acknowledged") li.appendChild(el("p", "muted", "Taken by " + a.acknowledged_by + " at " + hm(a.acknowledged_at)));
    if (canAnswer) {
      if (a.status === "open") li.appendChild(answerButton(a.id, "acknowledge", "Acknowledge"));
      li.appendChild(answerButton(a.id, "resolve", "Resolve"));
    }
    return li;
  }
  function answerButton(id, verb, label) {
    var b = el("button", "btn btn-big " + (verb === "resolve" ? "btn-ok" : "btn-warn"), label);
    b.type = "button";
    b.dataset.andonAction = verb;
    b.addEventListener("click", function () {
      b.disabled = true;
      fetch("/live/andon/" + id + "/" + verb + "/", { method: "POST", headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" })
        .then(function () { requestSnapshot(); })
        .catch(function () { b.disabled = false; });
    });
    return b;
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  var rotateIndex = 0;
  function render() {
    var box = $("[data-tiles]");
    box.replaceChildren.apply(box, order.map(function (id) { return tile(lines[id]); }));
    applyRotation();
    var first = lines[order[0]];
    if (first) $("[data-window]").textContent = first.window.name + " since " + hm(first.window.start);
    var list = $("[data-andon-list]");
    var items = [];
    order.forEach(function (id) { lines[id].andon.forEach(function (a) { items.push(andonItem(a, scope === "site" ? lines[id].code : "")); }); });
    if (!items.length) items.push(el("li", "muted", "No open calls."));
    list.replaceChildren.apply(list, items);
    if (scope === "line" && first) {
      var st = $("[data-stations]");
      st.replaceChildren.apply(st, first.workstations.map(station));
      var ev = $("[data-events]");
      ev.replaceChildren.apply(ev, events.map(function (e) {
        var li = el("li", "event event-" + e.kind);
        li.appendChild(el("span", "event-time", hm(e.at)));
        li.appendChild(el("span", null, " " + e.workstation + " · " + e.label + (e.quantity ? " " + e.quantity : "") + (e.order ? " · " + e.order : "") + (e.reason ? " · " + e.reason : "")));
        return li;
      }));
    }
  }
  function applyRotation() {
    var secs = parseInt(root.dataset.rotate || "0", 10);
    if (!secs || scope !== "site") return;
    var tiles = root.querySelectorAll(".tile");
    tiles.forEach(function (t, i) { t.classList.toggle("tile-current", i === rotateIndex % tiles.length); });
    root.classList.add("rotating");
  }
  if (parseInt(root.dataset.rotate || "0", 10) > 0) {
    setInterval(function () { rotateIndex += 1; applyRotation(); }, parseInt(root.dataset.rotate, 10) * 1000);
  }

  // --- chart (uPlot, served by the app) ----------------------------------------------------------
  function loadChart() {
    var box = $("[data-chart-box]");
    if (!box || !root.dataset.chart || !window.uPlot) return;
    fetch(root.dataset.chart, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) {
        var data = [d.hours, d.good, d.scrap, d.oee];
        if (!d.hours.length) { box.textContent = "No hour of this shift has passed yet."; return; }
        if (chart) { chart.setData(data); return; }
        box.textContent = "";
        var bars = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
        chart = new window.uPlot({
          width: Math.max(320, box.clientWidth || 640),
          height: 240,
          tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), tz); },
          series: [
            {},
            { label: "Good", stroke: "#1b7f3a", fill: "rgba(27,127,58,0.35)", paths: bars, scale: "n" },
            { label: "Scrap", stroke: "#b3261e", fill: "rgba(179,38,30,0.35)", paths: bars, scale: "n" },
            { label: "OEE %", stroke: "#1f4e99", width: 2, scale: "%" },
          ],
          scales: { "%": { range: [0, 100] } },
          axes: [{}, { scale: "n", label: "units" }, { scale: "%", side: 1, label: "OEE %", grid: { show: false } }],
        }, data, box);
      })
      .catch(function () { box.textContent = "Chart unavailable."; });
  }

  connect();
  if (document.readyState === "complete") loadChart(); else window.addEventListener("load", loadChart);
})();
