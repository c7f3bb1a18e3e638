// The month-end page: totals of the lines on this page as the officer types, before saving.
// Money is read as officers type it (129000, £129,000, 129k, £1.2m, (5,000)); a box that
// cannot be read is counted as not read and said so, never as £0.
(function () {
  "use strict";
  var table = document.getElementById("me-running");
  if (!table) { return; }
  var form = table.closest("form");
  var pounds = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP", maximumFractionDigits: 0 });

  // As recovery/money.py reads one amount (its _clean, then _parse_single; the save refuses
  // what this does not read): "GBP" before or after; "nil" as nothing; a dash or minus sign
  // before the figure, after the pound sign or after the figure (1,234-) as a minus, or
  // brackets; a unit in words (1.2 million, 500 thousand); thousands grouped by commas in
  // threes or by spaces (1,200,000; 1 200 000), never 12,34; k or m, not billions; not three
  // figures after the point (20.520: pence or a mistyped comma?) nor fractions of a penny.
  var NUMBER = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d+))?(k|m|bn)?$/;

  function clean(text) {
    var raw = text.replace(/[\u00a0\u202f\u2009]/g, " ").trim().toLowerCase();
    raw = raw.replace(/^\s*gbp\b|\bgbp\s*$/g, "").trim();
    if (raw === "nil" || raw === "£nil") { return "0"; }
    raw = raw.replace(/^[\u2013\u2014\u2212](?=\s*£?\s*\d)/, "-");
    raw = raw.replace(/^(£?\s*\d[\d,]*(?:\.\d+)?)\s*-$/, "-$1");
    if (raw.indexOf("£(") === 0 && raw.charAt(raw.length - 1) === ")") { raw = "(£" + raw.slice(2); }
    if (/\d/.test(raw)) {
      raw = raw.replace(/\s*(?:millions?|mn|mill?)\.?$/, "m").replace(/\s*thousands?\.?$/, "k");
    }
    return /^£\s*[-\u2212]/.test(raw) ? "-£" + raw.replace(/^£\s*[-\u2212]/, "") : raw;
  }

  function parseMoney(text) {
    var raw = clean(text || "");
    if (raw === "") { return null; }
    var negative = false;
    if (raw.charAt(0) === "(" && raw.charAt(raw.length - 1) === ")") {
      negative = true; raw = raw.slice(1, -1);
    } else if (raw.charAt(0) === "-") {
      negative = true; raw = raw.slice(1);
    }
    raw = raw.trim().replace(/^£\s*/, "");
    raw = raw.replace(/(\d) (?=\d{3}(?!\d))/g, "$1");
    if (/\d\s+\d/.test(raw)) { return NaN; }
    var match = NUMBER.exec(raw.replace(/\s/g, ""));
    if (!match || (match[1] === undefined && match[2] === undefined) || match[3] === "bn") {
      return NaN;
    }
    var places = match[2] === undefined ? 0 : match[2].length;
    if (!match[3] && places === 3) { return NaN; }
    if (places - ({ k: 3, m: 6 }[match[3]] || 0) > 2) { return NaN; }  // fractions of a penny
    var value = parseFloat((match[1] || "0").replace(/,/g, "") + "." + (match[2] || "0")) *
      ({ k: 1e3, m: 1e6 }[match[3]] || 1);
    return negative ? -value : value;
  }

  function show(name, value, note) {
    var cell = table.querySelector('[data-total="' + name + '"]');
    if (cell) { cell.textContent = value === null ? "not reported" : pounds.format(value) + (note || ""); }
  }

  function update() {
    var sums = { achieved_to_date: null, achievable: null, forecast: null, target: null };
    var unread = 0, forecastTarget = 0, forecastLines = 0;
    form.querySelectorAll("tr[data-target]").forEach(function (row) {
      var target = row.getAttribute("data-target");
      var rowForecast = null;
      // "Same for this month" ticked: a box left blank will be saved as last recorded.
      var carry = row.querySelector(".me-carry input[type=checkbox]");
      var carried = carry !== null && carry.checked;
      // A figure recorded as achievable is not yet achieved: counted apart, as saved.
      var basis = row.querySelector('select[name$="-basis"]');
      var achievable = basis !== null && basis.value === "achievable";
      if (target !== "") { sums.target = (sums.target || 0) + parseFloat(target); }
      row.querySelectorAll("input[data-sum]").forEach(function (input) {
        var value = parseMoney(input.value);
        if (value === null && carried && input.hasAttribute("data-last")) {
          value = parseFloat(input.getAttribute("data-last"));
        }
        if (value === null) { return; }
        if (isNaN(value)) { unread += 1; return; }
        var name = input.getAttribute("data-sum");
        if (name === "achieved_to_date" && achievable) { name = "achievable"; }
        sums[name] = (sums[name] || 0) + value;
        if (name === "forecast") { rowForecast = value; }
      });
      if (rowForecast !== null && target !== "") {
        forecastTarget += parseFloat(target);
        forecastLines += 1;
      }
    });
    show("target", sums.target);
    show("achieved_to_date", sums.achieved_to_date,
      sums.achievable === null ? "" : " (+ " + pounds.format(sums.achievable) + " achievable)");
    if (sums.achieved_to_date === null && sums.achievable !== null) {
      table.querySelector('[data-total="achieved_to_date"]').textContent =
        "not reported (+ " + pounds.format(sums.achievable) + " achievable)";
    }
    show("forecast", sums.forecast);
    var cell = table.querySelector('[data-total="variance"]');
    if (forecastLines === 0) {
      cell.textContent = "not reported";
    } else {
      var gap = sums.forecast - forecastTarget;
      cell.textContent = pounds.format(Math.abs(gap)) + (gap < 0 ? " short of" : " over") +
        " the target of the " + forecastLines + " line" + (forecastLines === 1 ? "" : "s") + " forecast";
    }
    var note = form.querySelector('[data-total="unread"]');
    note.hidden = unread === 0;
    note.textContent = unread ? unread + " box" + (unread === 1 ? "" : "es") +
      " not counted: the amount cannot be read (write it like 129000, 129k or £1.2m)." : "";
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}());
