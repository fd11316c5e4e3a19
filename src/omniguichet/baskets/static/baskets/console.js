// Basket console keyboard: j/k move between items, x selects, Enter opens, and each action button's data-key
// (c claim, t transfer, a accept, r reject...) presses it; an action that needs a reason goes to the reason field
// first when it is empty. Keys are ignored while typing in a field.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("#items tr[data-item]")); }
  function current() { return document.activeElement && document.activeElement.closest("tr[data-item]"); }
  function focusRow(row) { if (row) { row.focus(); row.classList.add("og-focus"); } }
  document.addEventListener("focusout", function (e) {
    var row = e.target.closest && e.target.closest("tr[data-item]");
    if (row) { row.classList.remove("og-focus"); }
  });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var list = rows(), row = current(), index = row ? list.indexOf(row) : -1;
    if (e.key === "j") { focusRow(list[Math.min(index + 1, list.length - 1)]); e.preventDefault(); return; }
    if (e.key === "k") { focusRow(list[Math.max(index - 1, 0)]); e.preventDefault(); return; }
    if (e.key === "x" && row) { var box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; e.preventDefault(); return; }
    if (e.key === "Enter" && row) { var open = row.querySelector("[data-open]"); if (open) { open.click(); } e.preventDefault(); return; }
    var button = e.key && document.querySelector("#bulk-form button[data-key='" + e.key + "']");
    if (!button) { return; }
    e.preventDefault();
    var reason = document.getElementById("reason");
    if (button.hasAttribute("data-needs-reason") && reason && !reason.value.trim()) { reason.focus(); return; }
    button.click();
  });
})();
