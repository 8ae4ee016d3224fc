// The graph of a proposal's change: the proposed snapshot's graph from /api/proposals/{id}/graph/,
// each edge drawn after what the change does to it (opened, closed, changed, unchanged) with its
// words as its label, so that no colour is the only sign. A page of its own, apart from graph.js.
import { el, fetchJSON } from "./common.js";
import { seededRandom } from "./graph-model.js";
import { cssVar } from "./graph-style.js";

const config = JSON.parse(document.getElementById("change-graph-config").textContent);
const page = document.querySelector(".graph-page");
const container = document.getElementById("cy");
const statusBox = document.getElementById("graph-status");
const panelTitle = document.getElementById("panel-title");
const panelBody = document.getElementById("panel-body");
const filters = document.getElementById("change-filters");
const changeList = document.getElementById("change-list");

const WORDS = {
  opened: "opened",
  closed: "closed",
  changed: "ports changed",
  mixed: "opened and closed",
  unchanged: "unchanged",
};

let cy = null;
let graph = null;

function setStatus(text) {
  statusBox.textContent = text;
}

function nodeLabel(node) {
  if (node.kind === "external") return (node.cidrs || []).join(", ") || node.id;
  if (node.kind === "namespace") return node.name || node.id;
  return node.namespace ? `${node.namespace}/${node.name}` : node.name || node.id;
}

function elements(data) {
  // Each node as wide as its label (about 6.5px a character at the 11px font), at least 60px.
  const nodes = data.nodes.map((node) => ({
    group: "nodes",
    data: {
      id: node.id,
      label: nodeLabel(node),
      change: node.change,
      w: Math.max(60, Math.round(nodeLabel(node).length * 6.5) + 18),
    },
    classes: `${node.kind} node-${node.change}`,
  }));
  const edges = data.edges.map((edge) => ({
    group: "edges",
    data: {
      id: edge.id,
      source: edge.source,
      target: edge.target,
      change: edge.change,
      text: edge.label,
      label: edge.change === "unchanged" ? "" : edge.label,
    },
    classes: `change-${edge.change}`,
  }));
  return [...nodes, ...edges];
}

function styles() {
  const allow = cssVar("--allow");
  const deny = cssVar("--deny");
  const warn = cssVar("--warn");
  const muted = cssVar("--muted");
  return [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-family": cssVar("--sans"),
        "font-size": 11,
        color: cssVar("--fg"),
        "text-valign": "center",
        "text-halign": "center",
        "background-color": cssVar("--surface"),
        "border-width": 1.5,
        "border-color": cssVar("--border"),
        shape: "round-rectangle",
        width: "data(w)",
        height: 26,
      },
    },
    { selector: "node.external", style: { shape: "cut-rectangle", "border-style": "dashed" } },
    { selector: "node.namespace", style: { "font-weight": "bold", "background-color": cssVar("--namespace-bg") } },
    { selector: "node.node-added", style: { "border-color": allow, "border-width": 3 } },
    { selector: "node.node-removed", style: { "border-color": deny, "border-width": 3, "border-style": "dashed" } },
    { selector: "node:selected", style: { "border-color": cssVar("--focus"), "border-width": 4 } },
    {
      selector: "edge",
      style: {
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        label: "data(label)",
        "font-family": cssVar("--sans"),
        "font-size": 10,
        "text-background-color": cssVar("--surface"),
        "text-background-opacity": 0.9,
        "text-background-padding": "2px",
        "text-rotation": "autorotate",
      },
    },
    {
      selector: "edge.change-unchanged",
      style: { width: 1, "line-color": muted, "target-arrow-color": muted, opacity: 0.45 },
    },
    {
      selector: "edge.change-opened",
      style: { width: 4, "line-color": allow, "target-arrow-color": allow, color: allow, "z-index": 5 },
    },
    {
      selector: "edge.change-closed",
      style: {
        width: 3,
        "line-color": deny,
        "target-arrow-color": deny,
        color: deny,
        "line-style": "dashed",
        "line-dash-pattern": [8, 4],
        "z-index": 5,
      },
    },
    {
      selector: "edge.change-changed",
      style: { width: 3, "line-color": warn, "target-arrow-color": warn, color: warn, "line-style": "dotted", "z-index": 5 },
    },
    {
      selector: "edge.change-mixed",
      style: {
        width: 3,
        "line-color": warn,
        "target-arrow-color": warn,
        color: warn,
        "line-style": "dashed",
        "line-dash-pattern": [10, 3, 2, 3],
        "z-index": 5,
      },
    },
    { selector: "edge:selected", style: { width: 5, "overlay-color": cssVar("--focus"), "overlay-opacity": 0.3 } },
  ];
}

function layout() {
  const original = Math.random;
  Math.random = seededRandom(graph.nodes.map((n) => n.id).join("|"));
  try {
    cy.layout({
      name: "fcose",
      animate: false,
      randomize: true,
      nodeDimensionsIncludeLabels: true,
      packComponents: true,
      idealEdgeLength: 140,
      nodeRepulsion: 9000,
      fit: true,
      padding: 30,
    }).run();
  } finally {
    Math.random = original;
  }
}

function draw() {
  if (!cy) {
    cy = window.cytoscape({ container, style: styles(), minZoom: 0.05, maxZoom: 1.6, boxSelectionEnabled: false });
    cy.on("tap", "edge", (event) => showEdge(event.target));
    cy.on("tap", "node", (event) => showNode(event.target));
    // The words of an edge also as the tooltip of the drawing.
    cy.on("mouseover", "edge", (event) => container.setAttribute("title", edgeWords(event.target.data())));
    cy.on("mouseout", "edge", () => container.removeAttribute("title"));
  }
  cy.batch(() => {
    cy.elements().remove();
    cy.add(elements(graph));
  });
  layout();
  const { opened, closed, changed } = graph.totals;
  const level = graph.level === "namespace" ? "namespaces" : "workloads";
  const summary = `${opened} opened, ${closed} closed, ${changed} changed flows (workload level); drawn by ${level}`;
  document.getElementById("change-counts").textContent = summary;
  container.setAttribute("aria-label", `The graph of the change: ${summary}`);
  setStatus(graph.edges.length ? "" : "The change touches no flow.");
}

function edgeWords(data) {
  return `${data.source} → ${data.target}: ${data.text}`;
}

function fillList() {
  const changed = graph.edges.filter((e) => e.change !== "unchanged");
  changeList.replaceChildren(
    ...changed.map((e) =>
      el("li", { "data-change": e.change }, `${WORDS[e.change]}: ${e.source} → ${e.target} (${e.label})`),
    ),
  );
  if (!changed.length) changeList.replaceChildren(el("li", {}, "None."));
}

function openPanel(title, children) {
  panelTitle.textContent = title;
  panelBody.replaceChildren(...children);
  page.classList.remove("panel-closed");
}

function closePanel() {
  page.classList.add("panel-closed");
  if (cy) cy.elements().unselect();
}

function showEdge(edge) {
  const data = graph.edges.find((e) => e.id === edge.id());
  const children = [
    el("p", { class: "change-words" }, [el("strong", {}, WORDS[data.change]), ` — ${data.label}`]),
    el("p", { class: "small" }, `Allowed in the proposed snapshot: ${data.connections}`),
  ];
  if (data.flows) {
    children.push(el("h3", {}, `${data.flow_count} changed ${data.flow_count === 1 ? "flow" : "flows"}`));
    children.push(el("ul", { class: "plain" }, data.flows.map((text) => el("li", { class: "ports" }, text))));
    if (data.flow_count > data.flows.length) {
      children.push(el("p", { class: "muted small" }, `and ${data.flow_count - data.flows.length} more.`));
    }
  }
  openPanel(`${data.source} → ${data.target}`, children);
}

function showNode(node) {
  const data = graph.nodes.find((n) => n.id === node.id());
  const words = { added: "new in the proposed snapshot", removed: "gone from the proposed snapshot", unchanged: "" };
  const edges = graph.edges.filter((e) => e.change !== "unchanged" && (e.source === data.id || e.target === data.id));
  const children = [];
  if (words[data.change]) children.push(el("p", {}, words[data.change]));
  children.push(el("h3", {}, `Changed edges: ${edges.length}`));
  children.push(
    el("ul", { class: "plain" }, edges.map((e) => el("li", {}, `${e.source} → ${e.target}: ${e.label}`))),
  );
  openPanel(nodeLabel(data), children);
}

async function load() {
  const params = new URLSearchParams({ revision: String(config.revision) });
  const level = filters.elements.level.value;
  const only = filters.elements.only.checked;
  if (level) params.set("level", level);
  if (only) params.set("only", "changed");
  // The page's own address keeps the view: an earlier revision when one was asked for, the filters.
  const shown = new URLSearchParams();
  const asked = new URLSearchParams(window.location.search).get("revision");
  if (asked) shown.set("revision", asked);
  if (level) shown.set("level", level);
  if (only) shown.set("only", "changed");
  window.history.replaceState(null, "", shown.toString() ? `?${shown}` : window.location.pathname);
  setStatus("Loading the graph…");
  try {
    graph = await fetchJSON(`${config.url}?${params}`);
  } catch (error) {
    setStatus(`Could not draw the graph: ${error.message}`);
    return;
  }
  draw();
  fillList();
}

filters.addEventListener("change", () => load());
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("close-panel").addEventListener("click", closePanel);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closePanel();
});

// For the browser tests and the console.
window.netpolChangeGraph = {
  get cy() {
    return cy;
  },
  get graph() {
    return graph;
  },
};

if (config.status === "ready") load();
else if (config.status === "failed") setStatus(`The analysis of this revision failed: ${config.error}`);
else setStatus("The change is being analysed: reload this page in a moment.");
