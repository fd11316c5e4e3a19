// Basket console keyboard: j/k move between documents, x selects, Enter opens, c/a claim/accept the selection,
// r goes to the reason field (then the Reject button). Keys are ignored while typing in a field.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("#documents tr[data-document]")); }
  function current() { return document.activeElement && document.activeElement.closest("tr[data-document]"); }
  function focusRow(row) { if (row) { row.focus(); row.classList.add("og-focus"); } }
  document.addEventListener("focusout", function (e) {
    var row = e.target.closest && e.target.closest("tr[data-document]");
    if (row) { row.classList.remove("og-focus"); }
  });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var list = rows(), row = current(), index = row ? list.indexOf(row) : -1;
    if (e.key === "j") { focusRow(list[Math.min(index + 1, list.length - 1)]); e.preventDefault(); }
    else if (e.key === "k") { focusRow(list[Math.max(index - 1, 0)]); e.preventDefault(); }
    else if (e.key === "x" && row) { var box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; e.preventDefault(); }
    else if (e.key === "Enter" && row) { row.querySelector("[data-open]").click(); e.preventDefault(); }
    else if (e.key === "c") { var c = document.getElementById("bulk-claim"); if (c) { c.click(); } e.preventDefault(); }
    else if (e.key === "a") { var a = document.getElementById("bulk-accept"); if (a) { a.click(); } e.preventDefault(); }
    else if (e.key === "r") { var r = document.getElementById("reason"); if (r) { r.focus(); } e.preventDefault(); }
  });
})();
