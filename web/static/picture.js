/* A picture too big to read at the page's width (the network picture of the MARAC pack): zoom in
   and out, fit to the width, full size; drag (or scroll) to pan when zoomed. Wires the buttons of a
   [data-zoom-for] toolbar to the [data-zoomable] box it names. A file, not an inline script: the
   workspace's Content-Security-Policy allows scripts from itself only. Print ignores the zoom
   (print.css fits the picture to one A4 landscape page). */
(function () {
  "use strict";
  document.querySelectorAll("[data-zoom-for]").forEach(function (bar) {
    var box = document.getElementById(bar.getAttribute("data-zoom-for"));
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
  });
})();
