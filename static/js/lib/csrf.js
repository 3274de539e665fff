// The CSRF token for a fetch() POST: the cookie when there is one, else the token the page was
// rendered with (base.html puts it in the body's hx-headers for htmx; a form may carry its own).
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  try {
    const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    if (token) return token;
  } catch (e) {
    /* not JSON: try the form */
  }
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}
