// A service form is sent once: the button is disabled on submit (the server also recognises a resubmission
// by the form's idempotency key, so a reload or a retried request is not a duplicate either).
document.addEventListener("submit", function (event) {
  "use strict";
  var button = event.target.querySelector("button[type=submit]");
  if (button) { setTimeout(function () { button.disabled = true; }, 0); }
}, true);
