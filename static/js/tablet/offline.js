// A background read (a poll, a refresh after a tap, a panel, the andon box) that could not reach
// the server is not a lost entry: it changes the offline state and raises no alarm. A POST that
// fails is left to mes.js, which says it was not saved.
const UNREACHABLE = [0, 502, 503, 504];
function isRead(evt) {
  const config = evt.detail && evt.detail.requestConfig;
  return !!config && String(config.verb).toLowerCase() === "get";
}

// `offline()`: what the page does instead (show its one offline state).
export function watchReads(offline) {
  function failed(evt) {
    if (!isRead(evt)) return;
    evt.stopPropagation();
    offline();
  }
  function refused(evt) {
    const xhr = evt.detail && evt.detail.xhr;
    if (!isRead(evt) || !xhr || UNREACHABLE.indexOf(xhr.status) < 0) return;
    evt.stopPropagation();
    offline();
  }
  document.body.addEventListener("htmx:sendError", failed);
  document.body.addEventListener("htmx:timeout", failed);
  document.body.addEventListener("htmx:responseError", refused);
}
