// The tablet's service worker, served at /workstation/sw.js so its scope is the tablet's pages.
//
// A tablet that reloads while the network is down still shows its last screen: pages under
// /workstation/ are fetched from the network first and the last good copy is kept; without a
// network the kept copy (or the queue's) answers. The taps themselves never pass through here:
// they wait in the page's waiting (localStorage `mes.waiting.workstation.N`) and are sent by the
// page with their idempotency keys, so a kept page never replays anything.
//
// What is kept is forgotten when the operator signs out (the page says so), so the next person's
// offline reload never shows the previous one's screen.
const CACHE = "mes-tablet-v1";
const SCOPE = new URL("./", self.location).pathname; // "/workstation/"
const SHELL = SCOPE;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (evt) {
  evt.waitUntil(self.clients.claim());
});

// The page sends what it was built from (its own address, scripts and styles) to keep, and asks
// to forget everything at sign-out.
self.addEventListener("message", function (evt) {
  const msg = evt.data || {};
  if (msg.type === "keep" && Array.isArray(msg.urls)) {
    const urls = msg.urls.filter(function (u) { return new URL(u, self.location).origin === self.location.origin; });
    evt.waitUntil(
      caches.open(CACHE).then(function (cache) {
        return Promise.all(urls.map(function (u) {
          return fetch(u, { credentials: "same-origin", cache: "no-store" }).then(function (res) {
            if (res.ok && !res.redirected) return cache.put(u, res);
          }).catch(function () { /* offline: keep what is kept */ });
        }));
      })
    );
  } else if (msg.type === "forget") {
    evt.waitUntil(caches.delete(CACHE));
  }
});

function isPage(request) {
  const url = new URL(request.url);
  return request.mode === "navigate" && url.origin === self.location.origin && url.pathname.indexOf(SCOPE) === 0;
}

// The scripts' translations (Django's JavaScript catalog) are an asset too: a screen reloaded
// offline still speaks its language.
const CATALOG = "{% url 'javascript_catalog' %}";

function isAsset(request) {
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return false;
  return url.pathname.indexOf("/static/") === 0 || url.pathname === CATALOG;
}

// A page: the network first (a good answer is kept), else the kept copy, else the kept queue.
function page(request) {
  return fetch(request).then(
    function (res) {
      if (res.ok && !res.redirected && res.type === "basic") {
        const copy = res.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request.url, copy); });
      }
      return res;
    },
    function (err) {
      // The kept copy was fetched with other headers than a navigation sends: ignore Vary.
      return caches.match(request.url, { ignoreVary: true }).then(function (kept) {
        return kept || caches.match(new URL(SHELL, self.location).href, { ignoreVary: true }).then(function (shell) {
          if (shell) return shell;
          throw err;
        });
      });
    }
  );
}

// A script or a style: the network first, the kept copy when offline.
function asset(request) {
  return fetch(request).catch(function (err) {
    return caches.match(request.url, { ignoreVary: true }).then(function (kept) {
      if (kept) return kept;
      throw err;
    });
  });
}

self.addEventListener("fetch", function (evt) {
  const request = evt.request;
  if (request.method !== "GET") return; // taps and forms always go to the server
  if (isPage(request)) evt.respondWith(page(request));
  else if (isAsset(request)) evt.respondWith(asset(request));
});
