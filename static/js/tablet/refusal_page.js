// A refusal that carries the page that lifts it (Start refused until an SOP is read: `url` is
// the tablet's page of that SOP) offers that page right where the refusal is shown, in front of
// the status line, as a button a gloved finger can hit. The next status replaces it.
const LABELS = { sop_not_acknowledged: gettext("Read the SOP") };

// Only a path of this site is followed, never another origin.
function localPath(url) {
  return typeof url === "string" && /^\/(?![\/\\])/.test(url);
}

export function offerRefusalPage(body) {
  const status = document.getElementById("tap-status");
  if (!status || !body || !localPath(body.url)) return;
  const link = document.createElement("a");
  link.className = "btn btn-primary";
  link.href = body.url;
  link.setAttribute("data-refusal-page", body.code || "");
  link.textContent = LABELS[body.code] || gettext("Open the page to fix this");
  status.prepend(link, " ");
}
