/* mhi — the one script, served by the application itself (CSP "script-src 'self'"). Every page works without it.

   On a phone, tables are shown as stacked rows (mhi.css, "Phones"): each cell then needs the name of its column
   beside it. This copies each table's column headers onto its cells as data-label, which the stylesheet shows
   before the value. Column spans are followed, so a cell under a spanned header gets that header's name. */
(function () {
  "use strict";

  function headerLabels(table) {
    var head = table.tHead;
    if (!head || !head.rows.length) { return null; }
    var labels = [];
    var row = head.rows[head.rows.length - 1];
    for (var i = 0; i < row.cells.length; i++) {
      var cell = row.cells[i];
      var text = (cell.getAttribute("aria-label") || cell.textContent || "").replace(/\s+/g, " ").trim();
      for (var span = 0; span < (cell.colSpan || 1); span++) { labels.push(text); }
    }
    return labels;
  }

  function labelTable(table) {
    var labels = headerLabels(table);
    if (!labels) { return; }
    for (var b = 0; b < table.tBodies.length; b++) {
      var rows = table.tBodies[b].rows;
      for (var r = 0; r < rows.length; r++) {
        var column = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          if (labels[column] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", labels[column]); }
          column += cell.colSpan || 1;
        }
      }
    }
    table.classList.add("labelled");
  }

  function labelAll() {
    var tables = document.querySelectorAll("main table");
    for (var t = 0; t < tables.length; t++) { labelTable(tables[t]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", labelAll);
  } else {
    labelAll();
  }
})();
