/* A picture too big to read at the page's width (the network picture of the MARAC pack): zoom in
   and out, fit to the width, full size; drag (or scroll) to pan when zoomed. Wires the buttons of a
   [data-zoom-for] toolbar to the box it names. A box with [data-picture] is first filled with the
   SVG at that address (the pack's picture is its own request, so the page does not wait for
   Graphviz's layout); window.picturesReady settles when every such picture is in (or has failed),
   and the Print button (forms.js) waits for it. A file, not an inline script: the workspace's
   Content-Security-Policy allows scripts from itself only. Print ignores the zoom (print.css fits
   the picture to one A4 landscape page). */
(function () {
  "use strict";
  function wire(bar, box) {
    var svg = box && box.querySelector("svg");
    if (!svg) { bar.hidden = true; return; }
    var vb = svg.viewBox && svg.viewBox.baseVal;
    var natural = vb && vb.width ? vb.width * 4 / 3 : svg.getBoundingClientRect().width;  /* Graphviz: pt -> px */
    var said = bar.querySelector("[data-zoom-said]");
    var scale = 0;   /* 0: fitted to the width */
    function fit() { return Math.min(1, box.clientWidth / natural); }
    function apply(next) {
      var before = scale || fit();
      var cx = (box.scrollLeft + box.clientWidth / 2) / (natural * before);
      var cy = (box.scrollTop + box.clientHeight / 2) / (svg.getBoundingClientRect().height || 1);
      scale = next <= fit() + 0.001 ? 0 : Math.min(next, 2);
      svg.style.width = scale ? Math.round(natural * scale) + "px" : "100%";
      svg.style.maxHeight = scale ? "none" : "";
      box.classList.toggle("zoomed", scale > 0);
      if (said) { said.textContent = scale ? Math.round(scale * 100) + "% of full size" : "fitted to the page"; }
      box.scrollLeft = cx * natural * (scale || fit()) - box.clientWidth / 2;
      box.scrollTop = cy * svg.getBoundingClientRect().height - box.clientHeight / 2;
    }
    bar.addEventListener("click", function (evt) {
      var b = evt.target.closest("button[data-zoom]");
      if (!b) { return; }
      var how = b.getAttribute("data-zoom");
      var now = scale || fit();
      apply(how === "in" ? now * 1.5 : how === "out" ? now / 1.5 : how === "full" ? 1 : 0);
    });
    var drag = null;
    box.addEventListener("pointerdown", function (evt) {
      if (!scale || evt.button !== 0) { return; }
      drag = {x: evt.clientX, y: evt.clientY, left: box.scrollLeft, top: box.scrollTop};
      box.setPointerCapture(evt.pointerId);
    });
    box.addEventListener("pointermove", function (evt) {
      if (!drag) { return; }
      box.scrollLeft = drag.left - (evt.clientX - drag.x);
      box.scrollTop = drag.top - (evt.clientY - drag.y);
    });
    ["pointerup", "pointercancel"].forEach(function (t) { box.addEventListener(t, function () { drag = null; }); });
    box.setAttribute("data-ready", "1");
  }
  function load(box) {
    var said = box.querySelector("[data-picture-said]");
    function failed(why) {
      if (said) { said.textContent = "The network picture could not be drawn (" + why + "). Reload the page to try again."; }
      box.setAttribute("data-ready", "failed");
    }
    box.setAttribute("data-loading", "1");   /* print.css: printed meanwhile, the paper says it had not arrived */
    return fetch(box.getAttribute("data-picture"), {credentials: "same-origin", headers: {Accept: "image/svg+xml"}})
      .then(function (r) {
        var type = r.headers.get("content-type") || "";
        if (!r.ok || type.indexOf("image/svg+xml") !== 0) {
          return failed(r.ok ? "the session may have ended" : "the service answered " + r.status);
        }
        return r.text().then(function (text) {
          box.innerHTML = text;   /* our own Graphviz drawing, its words escaped; no script runs from innerHTML */
        });
      }, function () { failed("no answer from the service"); })
      .then(function () { box.removeAttribute("data-loading"); });
  }
  var bars = Array.prototype.slice.call(document.querySelectorAll("[data-zoom-for]"));
  var waits = bars.map(function (bar) {
    var box = document.getElementById(bar.getAttribute("data-zoom-for"));
    if (box && box.hasAttribute("data-picture")) {
      /* the buttons wait for the picture: disabled, not hidden (the toolbar keeps its place) */
      var buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
      buttons.forEach(function (b) { b.disabled = true; });
      return load(box).then(function () {
        if (box.querySelector("svg")) {
          buttons.forEach(function (b) { b.disabled = false; });
          wire(bar, box);
        }
      });
    }
    wire(bar, box);
    return Promise.resolve();
  });
  window.picturesReady = Promise.all(waits);
})();
