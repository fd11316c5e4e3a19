// The telephony page polls the screen-pop every 2 s; the poll must not keep an unattended staff session alive
// (the session ends after STAFF_SESSION_IDLE_SECONDS without a request). Without a key, click, touch or mouse
// move for `data-pause-after` seconds the polling pauses and says so; the next activity reloads the page, which
// the staff-session guard sends to the login page when the session has ended meanwhile.
(function () {
  const poller = document.getElementById("screen-pop");
  if (!poller) return;
  const pauseAfter = Number(poller.dataset.pauseAfter || "1500") * 1000;
  let lastActivity = Date.now();
  let paused = false;
  function activity() {
    if (paused) { window.location.reload(); return; }
    lastActivity = Date.now();
  }
  ["keydown", "mousedown", "mousemove", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  poller.addEventListener("htmx:beforeRequest", function (event) {
    if (Date.now() - lastActivity < pauseAfter) return;
    event.preventDefault();
    if (!paused) {
      paused = true;
      const notice = document.getElementById("screen-pop-paused");
      if (notice) notice.hidden = false;
    }
  });
})();
