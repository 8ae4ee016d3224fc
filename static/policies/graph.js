// The graph page's entry: wires the page together. It keeps the view in the URL, draws with
// cytoscape (loaded as a classic script from node_modules, with the fCoSE layout), and answers the
// toolbar, search, keyboard and clicks. What it draws comes from graph-model.js (pure, tested with
// node), the data from graph-data.js, the look from graph-style.js, where nodes go from
// graph-layout.js, and the side panel from graph-panel.js.
import {
  OUTSIDE,
  applyFilters,
  defaultState,
  edgeId,
  elementsFor,
  exposedIds,
  granularView,
  namespaceNodeId,
  nodeQualifiedName,
  stateFromParams,
  stateToParams,
} from "./graph-model.js";
import { el, pollAnalysis } from "./common.js";
import { GraphData } from "./graph-data.js";
import { runLayout } from "./graph-layout.js";
import { speedUpRenderer } from "./graph-renderer.js";
import { createSidePanel } from "./graph-panel.js";
import { cssVar, graphStyles } from "./graph-style.js";

const config = JSON.parse(document.getElementById("graph-config").textContent);
const page = document.querySelector(".graph-page");
const container = document.getElementById("cy");
const statusBox = document.getElementById("graph-status");
const panelBody = document.getElementById("panel-body");
const toolbar = document.getElementById("graph-filters");
const search = document.getElementById("graph-search");
const searchList = document.getElementById("graph-node-names");

// A large cluster opens at namespace level (graph-data.js).
const namespaceFirst = Boolean(config.namespace_first);
const data = new GraphData(config.urls.graph, { namespaceFirst });
const { graphs, nodeIndex } = data;
let state = stateFromParams(new URLSearchParams(window.location.search));
let cy = null;
let current = null; // {view, filtered, drawn, exposed}
let positions = new Map(); // node id -> position from the last layout
const sidePanel = createSidePanel({
  config,
  page,
  body: panelBody,
  titleBox: document.getElementById("panel-title"),
  graph: {
    get cy() {
      return cy;
    },
    get current() {
      return current;
    },
    get state() {
      return state;
    },
    data,
  },
  actions: { jumpTo, togglePods, toggleNamespace },
});

// ---- loading --------------------------------------------------------------------------------

function setStatus(text) {
  statusBox.textContent = text;
}

function loadGraph(level) {
  return data.load(level, state);
}

function loadForView() {
  return data.loadForView(state);
}

async function start() {
  if (config.analysis && !["done", "failed"].includes(config.analysis.status)) {
    setStatus("Analysing the snapshot…");
    const analysis = await pollAnalysis(config.urls.analysis, (a) => {
      setStatus(`Analysing the snapshot: ${Math.round((a.progress || 0) * 100)}% ${a.progress_message || ""}`);
    });
    if (analysis.status !== "done") {
      setStatus(`The analysis failed: ${analysis.error || "unknown error"}`);
      return;
    }
  } else if (!config.analysis || config.analysis.status === "failed") {
    setStatus(config.analysis ? `The analysis failed: ${config.analysis.error}` : "This snapshot has not been analysed.");
    return;
  }
  setStatus("Loading the graph…");
  if (namespaceFirst) state.collapsed = true;
  try {
    await loadForView();
  } catch (error) {
    setStatus(`Could not load the graph: ${error.message}`);
    return;
  }
  if (state.collapsed === null) {
    state.collapsed = graphs.workload.nodes.length > config.collapse_above;
  }
  fillNamespaceFilter();
  fillSearchList();
  syncToolbar();
  setStatus("");
  render({ relayout: true });
  if (state.selected) select(state.selected, { center: true });
}

// ---- drawing -------------------------------------------------------------------------------

function render({ relayout }) {
  const view = granularView(graphs.workload, graphs.pod, state);
  const filtered = applyFilters(view, state, config.headline);
  const exposed = exposedIds(view, config.headline.exposed);
  const drawn = elementsFor(view, filtered, state, { collapsed: state.collapsed, exposed, podCounts: data.podCounts() });
  current = { view, filtered, drawn, exposed };
  if (!cy) {
    cy = window.cytoscape({
      container,
      style: graphStyles(config.icons),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
    });
    if (speedUpRenderer(cy)) cy.style(graphStyles(config.icons, { selectionRing: true }));
    cy.on("tap", "node", (event) => onTapNode(event.target));
    cy.on("tap", "edge", (event) => select(event.target.id()));
    cy.on("tap", (event) => {
      if (event.target === cy) closePanel();
    });
  }
  // Filters only hide: nodes keep the places the last layout gave them, so the picture does
  // not jump while someone narrows it down. Structural changes (level, boxes, pods) lay out again.
  const known = drawn.elements.every(
    (e) => e.group === "edges" || e.classes.split(" ").includes("open") || positions.has(e.data.id),
  );
  cy.batch(() => {
    cy.elements().remove();
    cy.add(drawn.elements);
  });
  if (relayout || !known) {
    runLayout(cy, drawn.elements, { packed: namespaceFirst });
    positions = new Map(cy.nodes().filter((n) => !n.isParent()).map((n) => [n.id(), { ...n.position() }]));
  } else {
    cy.nodes().forEach((n) => {
      if (positions.has(n.id())) n.position(positions.get(n.id()));
    });
    cy.fit(cy.elements(), 30);
  }
  const edges = drawn.elements.filter((e) => e.group === "edges").length;
  const nodes = drawn.elements.filter((e) => e.group === "nodes" && e.data.kind !== "namespace").length;
  container.setAttribute(
    "aria-label",
    `Reachability graph: ${nodes} ${nodes === 1 ? "node" : "nodes"}, ${edges} ${edges === 1 ? "edge" : "edges"}`,
  );
  document.getElementById("graph-counts").textContent = countsText(view, filtered, edges);
  if (drawn.elements.length === 0) setStatus("Nothing matches these filters.");
  else setStatus("");
}

function countsText(view, filtered, edges) {
  if (namespaceFirst) {
    const namespaces = graphs.namespace.nodes.filter((n) => n.kind === "namespace").length;
    const open = state.open.filter((name) => name !== OUTSIDE).length;
    return `${namespaces} namespaces, ${open} open · ${edges} ${edges === 1 ? "edge" : "edges"} drawn`;
  }
  const unit = state.level === "pod" ? "pods" : "workloads";
  const shown = view.nodes.filter((n) => filtered.visible.has(n.id) && n.kind !== "external").length;
  const all = view.nodes.filter((n) => n.kind !== "external").length;
  return `${shown} of ${all} ${unit} · ${edges} ${edges === 1 ? "edge" : "edges"} drawn`;
}

// ---- state and URL ---------------------------------------------------------------------------

function saveState() {
  const params = stateToParams(state);
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
  // The JSON, CSV and DOT exports are of the level on screen.
  for (const link of document.querySelectorAll("[data-export]")) {
    link.href = state.level === "pod" ? `${link.dataset.export}?level=pod` : link.dataset.export;
  }
}

function syncToolbar() {
  toolbar.elements.level.value = state.level;
  toolbar.elements.ns.value = state.namespace;
  toolbar.elements.label.value = state.label;
  toolbar.elements.port.value = state.port;
  toolbar.elements.dir.value = state.direction;
  toolbar.elements.only.value = state.only;
}

function fillNamespaceFilter() {
  const select = toolbar.elements.ns;
  const names = new Set(graphs.workload.nodes.map((n) => n.namespace || OUTSIDE));
  const existing = new Set([...select.options].map((o) => o.value));
  for (const name of [...names].sort()) {
    if (existing.has(name)) continue;
    select.append(new Option(name === OUTSIDE ? "outside cluster" : name, name));
  }
}

function fillSearchList() {
  searchList.replaceChildren();
  const seen = new Set();
  for (const level of ["workload", "pod"]) {
    for (const node of graphs[level] ? graphs[level].nodes : []) {
      const name = nodeQualifiedName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      searchList.append(new Option(node.kind, name));
    }
  }
}

async function onFilterChange() {
  const form = toolbar.elements;
  const level = form.level.value;
  if (level === "pod") {
    setStatus("Loading pods…");
    await loadGraph("pod");
    fillSearchList();
  }
  const structural = level !== state.level;
  state.level = level;
  state.namespace = form.ns.value;
  state.label = form.label.value.trim();
  state.port = form.port.value.trim();
  state.direction = form.dir.value;
  state.only = form.only.value;
  saveState();
  render({ relayout: structural });
  if (state.selected) select(state.selected, { center: false });
}

// ---- selection and the side panel ----------------------------------------------------------

function onTapNode(node) {
  if (node.hasClass("collapsed")) {
    toggleNamespace(node.data("namespace"), true);
    return;
  }
  select(node.id());
}

async function toggleNamespace(namespace, open) {
  const set = new Set(state.open);
  if (open) set.add(namespace);
  else set.delete(namespace);
  state.open = [...set].sort();
  saveState();
  if (namespaceFirst) {
    setStatus(open ? `Opening ${namespace}…` : "");
    try {
      await loadForView();
    } catch (error) {
      setStatus(`Could not load ${namespace}: ${error.message}`);
      return;
    }
    fillSearchList();
  }
  render({ relayout: true });
}

async function togglePods(workloadId, open) {
  await loadGraph("pod");
  fillSearchList();
  const set = new Set(state.pods);
  if (open) set.add(workloadId);
  else set.delete(workloadId);
  state.pods = [...set].sort();
  if (!open) state.selected = workloadId;
  saveState();
  render({ relayout: true });
  if (state.selected) select(state.selected, { center: true });
}

function select(id, { center = false } = {}) {
  if (!cy) return;
  const element = cy.getElementById(id);
  state.selected = id;
  saveState();
  cy.elements(":selected").unselect();
  if (element.empty()) {
    closePanel();
    return;
  }
  element.select();
  if (element.isEdge()) sidePanel.showEdge(element);
  else if (element.data("kind") === "namespace") sidePanel.showNamespace(element);
  else sidePanel.showNode(element);
  if (center) cy.animate({ center: { eles: element }, zoom: Math.max(cy.zoom(), 1) }, { duration: 250 });
  else ensureVisible(element);
}

function ensureVisible(element) {
  const view = cy.extent();
  const box = element.boundingBox();
  if (box.x1 < view.x1 || box.x2 > view.x2 || box.y1 < view.y1 || box.y2 > view.y2) {
    cy.animate({ center: { eles: element } }, { duration: 200 });
  }
}

function closePanel() {
  sidePanel.close();
  if (state.selected) {
    state.selected = "";
    saveState();
  }
}

// ---- search and keyboard ----------------------------------------------------------------

function findNode(text) {
  const needle = text.trim().toLowerCase();
  if (!needle) return null;
  const candidates = [...nodeIndex.values()];
  const exact = candidates.find((n) => n.id.toLowerCase() === needle || nodeQualifiedName(n).toLowerCase() === needle);
  if (exact) return exact;
  return candidates
    .filter((n) => nodeQualifiedName(n).toLowerCase().includes(needle))
    .sort((a, b) => nodeQualifiedName(a).length - nodeQualifiedName(b).length || (a.id < b.id ? -1 : 1))[0];
}

// Makes a node visible (level, open namespace, filters) and selects it.
async function jumpTo(id) {
  let node = nodeIndex.get(id);
  if (!node) return;
  let changed = false;
  if (node.kind === "pod" && state.level !== "pod" && !state.pods.includes(node.workload)) {
    if (nodeIndex.has(node.workload)) {
      node = nodeIndex.get(node.workload);
      id = node.id;
    }
  }
  if (node.kind === "workload" && state.level === "pod") {
    state.level = "workload";
    changed = true;
  }
  const group = node.namespace || OUTSIDE;
  if (state.collapsed && !state.open.includes(group)) {
    state.open = [...state.open, group].sort();
    changed = true;
  }
  if (!current.filtered.visible.has(id)) {
    Object.assign(state, { namespace: "", label: "", port: "", only: "" });
    changed = true;
  }
  if (changed) {
    syncToolbar();
    if (namespaceFirst) await loadForView();
    render({ relayout: true });
  }
  select(id, { center: true });
}

search.addEventListener("change", async () => {
  let node = findNode(search.value);
  // At namespace level a workload is known once its namespace is open: open it and look again.
  const namespace = search.value.trim().split("/")[0];
  if (!node && namespaceFirst && nodeIndex.has(namespace) && !state.open.includes(namespace)) {
    await toggleNamespace(namespace, true);
    node = findNode(search.value);
  }
  if (node) {
    jumpTo(node.id);
    search.setCustomValidity("");
  } else {
    search.setCustomValidity("No node by that name");
    search.reportValidity();
  }
});
search.form.addEventListener("submit", (event) => event.preventDefault());

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (event.key === "/" && !typing) {
    event.preventDefault();
    search.focus();
    search.select();
  } else if (event.key === "Escape") {
    if (typing) document.activeElement.blur();
    closePanel();
  }
});

document.getElementById("close-panel").addEventListener("click", closePanel);

toolbar.addEventListener("submit", (event) => {
  event.preventDefault();
  onFilterChange();
});
toolbar.addEventListener("change", () => onFilterChange());
toolbar.elements.label.addEventListener("input", debounce(onFilterChange, 300));
toolbar.elements.port.addEventListener("input", debounce(onFilterChange, 300));

document.getElementById("reset-view").addEventListener("click", async () => {
  const collapsed = state.collapsed;
  state = defaultState();
  state.collapsed = collapsed;
  syncToolbar();
  saveState();
  closePanel();
  if (namespaceFirst) await loadForView();
  render({ relayout: true });
});

document.getElementById("toggle-collapse").addEventListener("click", async () => {
  // At namespace level the whole workload graph is never fetched: the button closes every box.
  if (!namespaceFirst) state.collapsed = !state.collapsed;
  state.open = [];
  saveState();
  if (namespaceFirst) await loadForView();
  render({ relayout: true });
});

document.getElementById("export-png").addEventListener("click", () => {
  if (!cy) return;
  const blob = cy.png({ output: "blob", full: true, scale: 2, bg: cssVar("--bg") });
  const link = el("a", { href: URL.createObjectURL(blob), download: `${config.filename}.png` });
  document.body.append(link);
  link.click();
  link.remove();
});

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// For the browser tests and the console: the live cytoscape instance and a selection helper.
window.netpolGraph = {
  get cy() {
    return cy;
  },
  select: (id) => select(id, { center: true }),
  edgeId,
  namespaceNodeId,
};

start();
