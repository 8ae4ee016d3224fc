// The graph page's cytoscape stylesheet: nodes, namespace boxes, the shield and globe marks, edges
// by openness (colour and line style), selection and fading. Colours come from the page's CSS
// variables, so the drawing follows the light or dark theme.

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// With `selectionRing` (graph-renderer.js draws a ring over the selected node) a node looks the
// same selected or not on the canvas, so selecting one does not redraw every edge.
export function graphStyles(icons, { selectionRing = false } = {}) {
  const fg = cssVar("--fg");
  const muted = cssVar("--muted");
  const surface = cssVar("--surface");
  const border = cssVar("--border");
  const accent = cssVar("--accent");
  const openAll = cssVar("--open-all");
  const openSome = cssVar("--open-some");
  const { shield, globe } = icons;
  const font = cssVar("--sans");
  return [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-family": font,
        "font-size": 11,
        color: fg,
        "text-wrap": "wrap",
        "text-valign": "center",
        "text-halign": "center",
        "background-color": surface,
        "border-width": 1.5,
        "border-color": border,
        shape: "round-rectangle",
        width: "data(w)",
        height: "data(h)",
      },
    },
    { selector: "node.pod", style: { shape: "round-rectangle", "font-size": 10, "corner-radius": 12 } },
    { selector: "node.external", style: { shape: "cut-rectangle", "border-style": "dashed" } },
    {
      selector: "node.shield",
      style: {
        "background-image": shield,
        "background-width": "12px",
        "background-height": "12px",
        "background-position-x": "3px",
        "background-position-y": "3px",
        "background-clip": "none",
        "text-margin-x": 6,
      },
    },
    {
      selector: "node.globe",
      style: {
        "background-image": globe,
        "background-width": "12px",
        "background-height": "12px",
        "background-position-x": "3px",
        "background-position-y": "3px",
        "background-clip": "none",
        "text-margin-x": 6,
      },
    },
    {
      selector: "node.shield.globe",
      style: {
        "background-image": [shield, globe],
        "background-width": ["12px", "12px"],
        "background-height": ["12px", "12px"],
        "background-position-x": ["3px", "3px"],
        "background-position-y": ["3px", "17px"],
      },
    },
    {
      selector: "node.namespace",
      style: {
        "background-color": cssVar("--namespace-bg"),
        "border-color": border,
        "text-valign": "top",
        "text-halign": "center",
        "font-weight": "bold",
        "font-size": 13,
        padding: "14px",
        "text-margin-y": -4,
        "background-image": "none",
      },
    },
    { selector: "node.namespace.outside", style: { "background-color": cssVar("--external-bg"), "border-style": "dashed" } },
    {
      selector: "node.namespace.collapsed",
      style: { "text-valign": "center", "text-margin-y": 0, "border-width": 2, "font-size": 12, padding: 0 },
    },
    { selector: "node.focus", style: { "border-color": accent, "border-width": 2.5 } },
    // Neighbours drawn only because they talk to what the filters picked.
    { selector: "node.context", style: { opacity: 0.6, "border-style": "dotted" } },
    ...(selectionRing ? [] : [{ selector: "node:selected", style: { "border-color": cssVar("--focus"), "border-width": 4 } }]),
    {
      selector: "edge",
      style: {
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "arrow-scale": 1,
        width: 1.6,
        label: "data(label)",
        "font-family": font,
        "font-size": 9,
        color: muted,
        "text-background-color": surface,
        "text-background-opacity": 0.85,
        "text-background-padding": "2px",
        "text-rotation": "autorotate",
        "min-zoomed-font-size": 8, // edge labels appear once zoomed in enough to read them
      },
    },
    { selector: "edge.open-all", style: { "line-color": openAll, "target-arrow-color": openAll, width: 2.6, "line-style": "solid" } },
    {
      selector: "edge.open-some",
      style: { "line-color": openSome, "target-arrow-color": openSome, "line-style": "dashed", "line-dash-pattern": [6, 3] },
    },
    { selector: "edge.aggregate", style: { width: 3.2 } },
    {
      selector: "edge:selected",
      style: { width: 4.5, "z-index": 10, color: fg, "overlay-color": cssVar("--focus"), "overlay-opacity": 0.35, "overlay-padding": 5 },
    },
    { selector: ".faded", style: { opacity: 0.2 } },
  ];
}
