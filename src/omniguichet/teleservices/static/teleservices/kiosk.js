// Kiosk: the session ends by itself after a period without touch or key (the server expires it too).
(function () {
  "use strict";
  var script = document.getElementById("kiosk-script");
  var idle = parseInt((script && script.dataset.idleSeconds) || "90", 10) * 1000;
  var timer;
  function end() { var form = document.getElementById("kiosk-end"); if (form) { form.submit(); } }
  function reset() { clearTimeout(timer); timer = setTimeout(end, idle); }
  ["click", "touchstart", "keydown", "input"].forEach(function (e) { document.addEventListener(e, reset, true); });
  reset();
})();
