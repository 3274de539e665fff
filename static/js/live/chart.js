// The line's output and OEE per hour of the shift (uPlot, served by the app).
let chart = null;

export function drawChart(box, url, tz) {
  if (!window.uPlot) return;
  fetch(url, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (d) {
      const data = [d.hours, d.good, d.scrap, d.oee];
      if (!d.hours.length) { box.textContent = gettext("No hour of this shift has passed yet."); return; }
      if (chart) { chart.setData(data); return; }
      box.textContent = "";
      const bars = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
      chart = new window.uPlot({
        width: Math.max(320, box.clientWidth || 640),
        height: 240,
        tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), tz); },
        series: [
          {},
          { label: gettext("Good"), stroke: "#1b7f3a", fill: "rgba(27,127,58,0.35)", paths: bars, scale: "n" },
          { label: gettext("Scrap"), stroke: "#b3261e", fill: "rgba(179,38,30,0.35)", paths: bars, scale: "n" },
          { label: gettext("OEE %"), stroke: "#1f4e99", width: 2, scale: "%" },
        ],
        scales: { "%": { range: [0, 100] } },
        axes: [{}, { scale: "n", label: gettext("units") }, { scale: "%", side: 1, label: gettext("OEE %"), grid: { show: false } }],
      }, data, box);
    })
    .catch(function () { box.textContent = gettext("Chart unavailable."); });
}
