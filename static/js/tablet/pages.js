// Offline reload: the tablet's service worker (served at /workstation/sw.js, the template
// workorders/tablet/sw.js) keeps this screen and what it is built from, and forgets it all at
// sign-out. A reload without a network then shows this screen and its waiting taps; the taps
// stay in the waiting list (localStorage), never in the service worker.

export function keepPages(serviceWorkerUrl) {
  if (!serviceWorkerUrl || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(serviceWorkerUrl).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    const urls = [window.location.href];
    document.querySelectorAll("script[src], link[rel=stylesheet][href]").forEach(function (el) {
      urls.push(el.src || el.href);
    });
    performance.getEntriesByType("resource").forEach(function (entry) {
      if (/\/static\//.test(entry.name)) urls.push(entry.name);
    });
    if (registration.active) registration.active.postMessage({ type: "keep", urls: urls });
  }).catch(function () { /* no service worker (plain http): a reload needs the network */ });
}

// The next person at this tablet never sees this one's screen kept, nor the checklist values this
// one typed (checklist.js, under `mes.checklist.`). Checklists submitted without a connection are
// kept, like waiting taps: they are done work, sent when their operator badges in again.
const KEPT_SUBMISSIONS = "mes.checklist.submits";

export function forgetPages() {
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (worker) worker.postMessage({ type: "forget" });
  try {
    Object.keys(window.localStorage).forEach(function (name) {
      if (name.indexOf("mes.checklist.") === 0 && name !== KEPT_SUBMISSIONS) window.localStorage.removeItem(name);
    });
  } catch (e) { /* no storage: nothing was kept */ }
}
