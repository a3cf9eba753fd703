/* The network page: cytoscape.js with the fcose layout over the API's elements.
   Click (or Enter on the focused list) a person to open them; click an edge for its reason. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("net-data").textContent);
  var legend = data.legend || {};
  var shapes = {circle: "ellipse", square: "round-rectangle", triangle: "triangle"};
  function colour(cls) { return (legend[cls] || legend.other || {colour: "#9e9e9e"}).colour; }
  function shape(cls) { return shapes[(legend[cls] || legend.other || {shape: "circle"}).shape] || "ellipse"; }
  var style = [
    {selector: "node", style: {"label": "data(label)", "font-size": 11, "color": "#1a1a1a", "min-zoomed-font-size": 8,
      "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "ellipsis", "text-max-width": 120,
      "text-background-color": "#ffffff", "text-background-opacity": 0.8, "text-background-padding": 1}},
    {selector: "node[type = 'person']", style: {"width": 26, "height": 26, "font-weight": "bold", "z-index": 10,
      "min-zoomed-font-size": 0,
      "background-color": function (n) { return colour(n.data("cls")); },
      "shape": function (n) { return shape(n.data("cls")); }}},
    {selector: "node[?centre]", style: {"border-width": 4, "border-color": "#000000", "width": 34, "height": 34,
      "font-weight": "bold"}},
    {selector: "node[type = 'event']", style: {"shape": "diamond", "width": 16, "height": 16,
      "background-color": "#5b5b5b", "font-size": 8, "min-zoomed-font-size": 10}},
    {selector: "node[type = 'event'][?harm]", style: {"border-width": 3, "border-color": "#c62828"}},
    {selector: "node[type = 'household']", style: {"shape": "rectangle", "width": 18, "height": 14,
      "background-color": "#2e7d32", "font-size": 8, "min-zoomed-font-size": 10}},
    {selector: "edge", style: {"width": 1.5, "line-color": "#8a8a8a", "curve-style": "bezier"}},
    {selector: "edge[?harm]", style: {"line-color": "#c62828", "width": 2.5}},
    {selector: ":selected", style: {"overlay-color": "#1565c0", "overlay-opacity": 0.25}}
  ];
  var cy = cytoscape({container: document.getElementById("cy"), elements: data.elements, style: style,
    wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 4});
  var layout = {name: "fcose", quality: "default", randomize: false, animate: false, nodeSeparation: 120,
    idealEdgeLength: function () { return 80; },
    /* people push each other apart much harder than events do: a family stays legible */
    nodeRepulsion: function (n) { return n.data("type") === "person" ? 400000 : 20000; }, padding: 24};
  try { cy.layout(layout).run(); } catch (e) { cy.layout({name: "cose", animate: false}).run(); }
  /* the layout comes out about square; the canvas is wide: spread it sideways (up to 1.8 times) so a
     family of twenty uses the width and its names do not sit on each other */
  var box = cy.elements().boundingBox(), area = document.getElementById("cy");
  var want = area.clientWidth / Math.max(area.clientHeight, 1);
  if (box.w > 0 && box.h > 0 && box.w / box.h < want) {
    var f = Math.min(want / (box.w / box.h), 1.8), mid = box.x1 + box.w / 2;
    cy.nodes().positions(function (n) { return {x: mid + (n.position("x") - mid) * f, y: n.position("y")}; });
  }
  function fitted() {
    cy.fit(undefined, 30);
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }   /* a small network is not blown up */
  }
  fitted();
  /* people stay readable at any zoom: their labels and symbols keep about the same size on screen */
  function keepPeopleReadable() {
    var z = Math.min(cy.zoom(), 1.2);
    cy.batch(function () {
      cy.nodes("[type = 'person']").forEach(function (n) {
        var base = n.data("centre") ? 34 : 26;
        n.style({"font-size": 12 / z, "width": base / Math.sqrt(z), "height": base / Math.sqrt(z),
                 "text-max-width": 220 / z, "text-background-padding": 2 / z});
      });
    });
  }
  keepPeopleReadable();
  cy.on("zoom", keepPeopleReadable);
  /* zoom buttons beside scrolling: in and out about the middle, and back to the whole network */
  document.querySelectorAll("button[data-net-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var how = b.getAttribute("data-net-zoom");
      if (how === "fit") { fitted(); return; }
      var level = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), cy.zoom() * (how === "in" ? 1.4 : 1 / 1.4)));
      cy.zoom({level: level, renderedPosition: {x: area.clientWidth / 2, y: area.clientHeight / 2}});
    });
  });
  document.getElementById("cy").setAttribute("data-ready", "1");
  var selected = document.getElementById("selected");
  cy.on("tap", "node", function (evt) {
    var d = evt.target.data();
    if (d.type === "person") {
      window.location.href = data.prefix + "/person/" + encodeURIComponent(d.person_id);
    } else if (d.type === "household") {
      window.location.href = data.prefix + "/household/" + encodeURIComponent(d.household_key);
    } else {
      selected.textContent = d.label + (d.harm ? " (harm)" : "");
    }
  });
  cy.on("tap", "edge", function (evt) { selected.textContent = evt.target.data("reason") || ""; });
  /* hovering an event or household shows its label whatever the zoom */
  cy.on("mouseover", "node[type != 'person']", function (evt) { evt.target.style("min-zoomed-font-size", 0); });
  cy.on("mouseout", "node[type != 'person']", function (evt) { evt.target.removeStyle("min-zoomed-font-size"); });
  cy.on("mouseover", "node[type = 'person']", function () { document.getElementById("cy").style.cursor = "pointer"; });
  cy.on("mouseout", "node", function () { document.getElementById("cy").style.cursor = ""; });
  window.workspaceNetwork = cy;   /* browser tests read node positions from it */
})();
