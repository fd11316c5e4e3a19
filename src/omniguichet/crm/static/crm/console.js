// Keyboard use of the agent console: "/" search, arrows through results, "t"/"a" add a phone call or a
// reception visit, Enter in the contact form records it, Escape closes it.
(function () {
  function typing(target) {
    return ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
  }
  function openContactForm(channel) {
    const details = document.getElementById("add-contact");
    if (!details) return;
    details.open = true;
    document.getElementById("channel").value = channel;
    document.getElementById("motive").focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const results = Array.from(document.querySelectorAll("[data-result]"));
    if (event.key === "/" && !typing(event.target)) {
      const q = document.getElementById("q");
      if (q) { event.preventDefault(); q.focus(); q.select(); } else { window.location = "/agent/"; }
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && results.length) {
      const index = results.indexOf(document.activeElement);
      const next = event.key === "ArrowDown" ? Math.min(index + 1, results.length - 1) : Math.max(index - 1, 0);
      event.preventDefault();
      results[next].focus();
    } else if (!typing(event.target) && (event.key === "t" || event.key === "a")) {
      event.preventDefault();
      openContactForm(event.key === "t" ? "phone" : "reception");
    } else if (event.key === "Enter" && event.target.closest && event.target.closest("#contact-form")
               && event.target.tagName === "SELECT") {
      event.preventDefault();
      document.getElementById("contact-form").requestSubmit();
    } else if (event.key === "Escape") {
      const details = document.getElementById("add-contact");
      if (details && details.open) { details.open = false; }
    }
  });
  // After a contact is recorded, close the form and leave the timeline (with the new contact on top) in view.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "timeline") {
      const details = document.getElementById("add-contact");
      const form = document.getElementById("contact-form");
      if (details && event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
        details.open = false;
        form.reset();
      }
    }
  });
})();
