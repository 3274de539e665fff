// One POST from the tablet, and how its answer reads: saved, refused (the tap is dropped),
// signed_out, or retry (the tap is kept and sent again with the same key).
import { csrfToken } from "../lib/csrf.js";

const SEND_TIMEOUT_MS = 15000;

function formBody(fields) {
  const body = new URLSearchParams();
  Object.keys(fields).forEach(function (name) {
    body.set(name, fields[name] == null ? "" : String(fields[name]));
  });
  return body;
}

export function post(url, fields) {
  const controller = window.AbortController ? new AbortController() : null;
  const timer = controller ? setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS) : null;
  return fetch(url, {
    method: "POST",
    body: formBody(fields),
    credentials: "same-origin",
    redirect: "manual",
    cache: "no-store",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    signal: controller ? controller.signal : undefined,
  })
    .then(function (res) {
      clearTimeout(timer);
      if (res.type === "opaqueredirect" || res.status === 401) {
        return { outcome: "signed_out", status: res.status, message: gettext("Signed out") };
      }
      return res
        .json()
        .catch(function () { return null; })
        .then(function (body) {
          if (res.ok && body && body.recorded) return { outcome: "saved", status: res.status, body: body };
          if (body && body.code && (res.status === 400 || res.status === 409 || res.status === 403 || res.status === 429)) {
            // 403 and 429 are refused for the override form; the event endpoint keeps them.
            return { outcome: "refused", status: res.status, body: body, message: body.detail };
          }
          return {
            outcome: "retry",
            status: res.status,
            message: (body && body.detail) || interpolate(gettext("the server answered %(status)s"), { status: res.status }, true),
          };
        });
    })
    .catch(function () {
      clearTimeout(timer);
      return { outcome: "retry", status: 0, network: true, message: gettext("no connection") };
    });
}
