/* Draw every plotly figure on the page from the JSON beside it. plotly.js comes from the
   installed plotly package (static/vendor/plotly.min.js): no CDN, no network.
   Detail sections fold (<details>): a jump link opens its section, a chart is resized when
   its section opens, and printing opens them all. */
(function () {
  "use strict";
  // Words into lines of at most `width` characters, joined as plotly breaks a line.
  function wrap(text, width) {
    var lines = [], line = "";
    String(text).split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > width) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines;
  }
  // On a narrow screen (a phone) plotly cuts a long title and rotates the month names until
  // they are cut too: titles wrap, month axes name at most six months, level, and the axes
  // make room for their labels; long legend entries wrap.
  // Stacked panels whose wrapped titles would overlap the panel above: the figure grows,
  // and each panel keeps its plot height with room above it for its title's lines.
  function respace(layout, titled) {
    if (!titled.length) { return; }
    var axes = Object.keys(layout).filter(function (key) {
      return key.indexOf("yaxis") === 0 && layout[key].domain && !layout[key].overlaying;
    }).sort(function (a, b) { return layout[b].domain[0] - layout[a].domain[0]; });
    if (axes.length !== titled.length) { return; }
    var margin = layout.margin || {};
    var plotArea = (layout.height || 450) - (margin.t || 0) - (margin.b || 0);
    var rooms = titled.map(function (t) { return t.lines * t.size * 1.3 + 18; });
    var plots = axes.map(function (key) {
      var d = layout[key].domain;
      return Math.max(90, (d[1] - d[0]) * plotArea);
    });
    var total = plots.reduce(function (a, b) { return a + b; }, 0) +
      rooms.slice(1).reduce(function (a, b) { return a + b; }, 0);
    var y = total;
    axes.forEach(function (key, i) {
      if (i > 0) { y -= rooms[i]; }
      var top = y, bottom = y - plots[i];
      layout[key].domain = [bottom / total, top / total];
      titled[i].note.y = top / total;
      y = bottom;
    });
    margin.t = (margin.t || 0) + rooms[0];
    layout.margin = margin;
    layout.height = total + margin.t + (margin.b || 0);
  }
  function fitNarrow(el, fig) {
    var width = el.clientWidth || window.innerWidth;
    if (width >= 576) { return; }
    var layout = fig.layout;
    fig.data.forEach(function (trace) {  // legend entries, after their 40px symbol
      if (trace.name) { trace.name = wrap(trace.name, Math.floor((width - 56) / 7)).join("<br>"); }
    });
    var title = layout.title;
    if (title && title.text) {
      var size = (title.font && title.font.size) || 15;
      var lines = wrap(title.text, Math.max(16, Math.floor((width - 8) / (size * 0.6))));
      title.text = lines.join("<br>");
      layout.margin = layout.margin || {};
      layout.margin.t = Math.max(layout.margin.t || 0, 20 + lines.length * size * 1.35);
    }
    var titled = [];  // the panels' titles (subplot annotations above each y axis domain)
    (layout.annotations || []).forEach(function (note) {
      var panelTitle = note.yref === "paper" && note.yanchor === "bottom";
      if (panelTitle) { note.font = note.font || {}; note.font.size = 13; }
      var size = (note.font && note.font.size) || 12;
      var lines = wrap(note.text, Math.max(16, Math.floor((width - 16) / (size * 0.6))));
      note.text = lines.join("<br>");
      if (panelTitle) { titled.push({note: note, lines: lines.length, size: size}); }
    });
    respace(layout, titled);
    Object.keys(layout).forEach(function (key) {
      if (key.indexOf("xaxis") !== 0) { return; }
      var axis = layout[key];
      axis.automargin = true;
      if (axis.type === "date") {
        // A date axis: a few whole month names, level (never "Jan", "Jan", "Jan 2018").
        axis.nticks = 4;
        axis.tickangle = 0;
        axis.tickformat = "%b %Y";
      }
      var months = axis.categoryarray;
      var monthly = months && months.every(function (label) {
        return /^[A-Z][a-z]{2}( \d{4})?$/.test(label);  // Apr 2017, or Apr
      });
      if (monthly) {
        // At most six names, level: a year's months by name alone (every other one), a
        // longer run with its years shortened (Apr 17). The table below has every month.
        var step = Math.ceil(months.length / 6);
        var shown = months.filter(function (label, i) { return i % step === 0; });
        axis.tickmode = "array";
        axis.tickangle = 0;
        axis.tickvals = shown;
        axis.ticktext = shown.map(function (label) {
          return months.length <= 12 ? label.slice(0, 3) : label.slice(0, 4) + label.slice(-2);
        });
      }
    });
  }
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-plotly-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-plotly-figure"));
      if (!source) { return; }
      var fig = JSON.parse(source.textContent);
      fitNarrow(el, fig);
      Plotly.newPlot(el, fig.data, fig.layout, {
        displayModeBar: false, responsive: true, displaylogo: false
      });
    });
  }
  function openFor(hash) {
    if (!hash || hash.length < 2) { return; }
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    var opened = false;
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS" && !el.open) { el.open = true; opened = true; }
    }
    // The page scrolled before the section opened: bring the heading to the top now.
    if (target && opened) { target.scrollIntoView(); }
  }
  function resizeIn(section) {
    if (typeof Plotly === "undefined") { return; }
    section.querySelectorAll(".js-plotly-plot").forEach(function (el) {
      Plotly.Plots.resize(el);
    });
  }
  function start() {
    draw();
    openFor(window.location.hash);
    window.addEventListener("hashchange", function () { openFor(window.location.hash); });
    document.querySelectorAll("details").forEach(function (section) {
      section.addEventListener("toggle", function () {
        if (section.open) { resizeIn(section); }
      });
    });
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details").forEach(function (section) { section.open = true; });
    });
    // A phone turned on its side (or a window resized) past the narrow width: draw again,
    // so titles and month names are laid out for the new width.
    var narrow = window.innerWidth < 576, waiting = null;
    window.addEventListener("resize", function () {
      clearTimeout(waiting);
      waiting = setTimeout(function () {
        if ((window.innerWidth < 576) !== narrow) { narrow = !narrow; draw(); }
      }, 200);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
