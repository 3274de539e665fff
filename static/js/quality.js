// Quality's desk pages: forms that change state carry a fresh idempotency key each time they are
// shown, so a resend after a lost answer is recorded once. (The tablet's checklist page is
// checklist.js.)
(function () {
  "use strict";
  document.querySelectorAll("form[data-key-form] input[name=idempotency_key]").forEach(function (input) {
    if (!input.value) input.value = window.mesUuid();
  });
})();
