// The telephony page opens the caller's record by itself. The screen-pop comes as server-sent events from the
// push process (`data-stream-url`; the state in `data-stream`: connecting, open, poll or paused); where no push process serves them (the stream answers 204, or fails), the page
// polls every 2 s instead (the htmx trigger on #screen-pop, idle while the stream is open).
//
// Neither must keep an unattended staff session alive (the session ends after STAFF_SESSION_IDLE_SECONDS without
// a request, and the stream reconnects now and then): without a key, click, touch or mouse move for
// `data-pause-after` seconds the page closes the stream, stops polling and says so; the next activity reloads the
// page, which the staff-session guard sends to the login page when the session has ended meanwhile.
(function () {
  const poller = document.getElementById("screen-pop");
  if (!poller) return;
  const pauseAfter = Number(poller.dataset.pauseAfter || "1500") * 1000;
  let lastActivity = Date.now();
  let paused = false;
  let source = null;

  function pause() {
    if (paused) return;
    paused = true;
    if (source) source.close();
    poller.dataset.stream = "paused";
    const notice = document.getElementById("screen-pop-paused");
    if (notice) notice.hidden = false;
  }
  function activity() {
    if (paused) { window.location.reload(); return; }
    lastActivity = Date.now();
  }
  ["keydown", "mousedown", "mousemove", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  window.setInterval(function () {
    if (Date.now() - lastActivity >= pauseAfter) pause();
  }, 1000);

  poller.dataset.stream = "poll";
  if (poller.dataset.streamUrl && window.EventSource) {
    poller.dataset.stream = "connecting";
    source = new EventSource(poller.dataset.streamUrl);
    source.addEventListener("open", function () { poller.dataset.stream = "open"; });
    // A stream that does not open (a proxy holding it) must not leave the page deaf: poll meanwhile.
    window.setTimeout(function () {
      if (poller.dataset.stream === "connecting") poller.dataset.stream = "poll";
    }, 5000);
    source.addEventListener("redirect", function (event) { window.location.assign(event.data); });
    source.addEventListener("unknown", function (event) { poller.innerHTML = event.data; });
    source.addEventListener("error", function () {
      // CLOSED: refused for good (204 from a server without a push process, or an error); the poll takes over.
      // CONNECTING: the browser reconnects by itself; a call answered meanwhile is pushed once it is back.
      if (source.readyState === EventSource.CLOSED && !paused) poller.dataset.stream = "poll";
    });
  }
  poller.addEventListener("htmx:beforeRequest", function (event) {
    if (paused || Date.now() - lastActivity >= pauseAfter) { event.preventDefault(); pause(); return; }
    if (poller.dataset.stream !== "poll") event.preventDefault();  // the stream is on (or connecting): no poll
  });
})();
