/* Draw every plotly figure on the page from the JSON beside it. plotly.js comes from the
   installed plotly package (static/vendor/plotly.min.js): no CDN, no network.
   Detail sections fold (<details>): a jump link opens its section, a chart is resized when
   its section opens, and printing opens them all. */
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-plotly-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-plotly-figure"));
      if (!source) { return; }
      var fig = JSON.parse(source.textContent);
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
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
