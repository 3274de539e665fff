// A supervisor allows a good count refused as over the order quantity, at the tablet.
// Not queued: it needs the supervisor at the tablet, and a PIN is never stored.
import { post } from "./send.js";
import { setStatus, showFormError } from "./screen.js";

let pending = null;

export function offerOverride(t, detail) {
  const dialog = document.getElementById("dlg-override");
  if (!dialog || !t.operation) return;
  pending = t;
  const form = dialog.querySelector("form");
  form.reset();
  showFormError(form, "");
  dialog.querySelector("[data-override-message]").textContent =
    detail + " " + interpolate(gettext("Record %(quantity)s good anyway?"), { quantity: t.quantity }, true);
  if (!dialog.open) dialog.showModal();
}

export function forgetOverride() {
  pending = null;
}

// `app`: the tablet's overrideUrl, toast, refresh and handleAnswer (for a signed-out answer).
export function submitOverride(form, app) {
  const t = pending;
  const dialog = form.closest("dialog");
  if (!t) {
    dialog.close();
    return;
  }
  const badge = form.elements.badge_number.value.trim();
  const pin = form.elements.pin.value;
  if (!badge || !pin) {
    showFormError(form, gettext("The supervisor scans their badge and enters their PIN."));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showFormError(form, "");
  post(app.overrideUrl, {
    idempotency_key: t.key,
    operation: t.operation,
    quantity: t.quantity,
    occurred_at: t.occurred_at,
    badge_number: badge,
    pin: pin,
  }).then(function (r) {
    button.disabled = false;
    form.elements.pin.value = "";
    if (r.outcome === "saved") {
      pending = null;
      dialog.close();
      setStatus("saved", interpolate(gettext("Saved with supervisor's approval: %(tap)s"), { tap: t.label }, true));
      app.refresh();
    } else if (r.outcome === "refused" && r.body.field !== "badge_number" && r.body.field !== "pin" && r.status === 409) {
      pending = null;
      dialog.close();
      setStatus("refused", interpolate(gettext("Refused: %(tap)s. %(reason)s"), { tap: t.label, reason: r.body.detail }, true));
      app.toast(r.body.detail, "error");
      app.refresh();
    } else if (r.outcome === "signed_out") {
      app.handleAnswer(t, r);
    } else {
      // Wrong badge or PIN, not allowed, throttled, no connection: the same key may be sent
      // again, and is counted once.
      showFormError(form, r.message || gettext("Not saved; try again."));
    }
  });
}
