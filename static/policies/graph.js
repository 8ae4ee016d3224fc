// The graph page: draws the reachability graph with cytoscape (loaded as a classic script from
// node_modules, with the fCoSE layout), keeps the view in the URL, and fills the side panel.
import {
  OUTSIDE,
  applyFilters,
  composeGraph,
  defaultState,
  edgeId,
  elementsFor,
  endpointText,
  exposedIds,
  granularView,
  namespaceNodeId,
  nodeQualifiedName,
  nodeTitle,
  packedLayout,
  portChoices,
  portsText,
  seededRandom,
  stateFromParams,
  stateToParams,
} from "./graph-model.js";
import { el, fetchJSON, pollAnalysis, renderExplanationSummary } from "./common.js";

const config = JSON.parse(document.getElementById("graph-config").textContent);
const page = document.querySelector(".graph-page");
const container = document.getElementById("cy");
const statusBox = document.getElementById("graph-status");
const panel = document.getElementById("side-panel");
const panelBody = document.getElementById("panel-body");
const toolbar = document.getElementById("graph-filters");
const search = document.getElementById("graph-search");
const searchList = document.getElementById("graph-node-names");

const graphs = { workload: null, pod: null, namespace: null };
// A large cluster opens at namespace level: the page holds the namespace graph and, for the
// namespaces someone opened, the API's slice of their workloads (or pods), composed into one.
const namespaceFirst = Boolean(config.namespace_first);
const composedFor = { workload: null, pod: null }; // the open namespaces each composed graph holds
let state = stateFromParams(new URLSearchParams(window.location.search));
let cy = null;
let current = null; // {view, filtered, drawn}
const nodeIndex = new Map(); // every node id of both levels -> node
let positions = new Map(); // node id -> position from the last layout

// ---- loading --------------------------------------------------------------------------------

function setStatus(text) {
  statusBox.textContent = text;
}

async function loadGraph(level) {
  if (namespaceFirst) return loadComposed(level);
  if (!graphs[level]) {
    graphs[level] = await fetchJSON(`${config.urls.graph}?level=${level}`);
    for (const node of graphs[level].nodes) nodeIndex.set(node.id, node);
  }
  return graphs[level];
}

function indexNodes(graph) {
  for (const node of graph.nodes) nodeIndex.set(node.id, node);
}

async function loadComposed(level) {
  if (!graphs.namespace) {
    graphs.namespace = await fetchJSON(`${config.urls.graph}?level=namespace`);
    indexNodes(graphs.namespace);
  }
  const names = state.open.filter((name) => name !== OUTSIDE).sort();
  const key = names.join(",");
  if (composedFor[level] !== key || !graphs[level]) {
    const query = new URLSearchParams({ level, namespace: key });
    const slice = names.length ? await fetchJSON(`${config.urls.graph}?${query}`) : null;
    graphs[level] = composeGraph(graphs.namespace, slice);
    composedFor[level] = key;
    indexNodes(graphs[level]);
  }
  return graphs[level];
}

// What the view needs loaded: the workload graph, and the pod graph when pods are shown.
async function loadForView() {
  await loadGraph("workload");
  if (state.level === "pod" || state.pods.length) await loadGraph("pod");
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

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function styles() {
  const fg = cssVar("--fg");
  const muted = cssVar("--muted");
  const surface = cssVar("--surface");
  const border = cssVar("--border");
  const accent = cssVar("--accent");
  const openAll = cssVar("--open-all");
  const openSome = cssVar("--open-some");
  const { shield, globe } = config.icons;
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
    { selector: "node:selected", style: { "border-color": cssVar("--focus"), "border-width": 4 } },
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

// fCoSE draws random numbers; seeding Math.random during the (synchronous) run makes the same
// graph give the same picture on every load.
function runLayout() {
  if (namespaceFirst) {
    const { positions } = packedLayout(current.drawn.elements);
    cy.layout({ name: "preset", positions: (node) => positions.get(node.id()), fit: true, padding: 30, animate: false }).run();
    return;
  }
  const seed = cy
    .nodes()
    .map((n) => n.id())
    .join("|");
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    cy.layout({
      name: "fcose",
      animate: false,
      randomize: true,
      quality: "default",
      nodeDimensionsIncludeLabels: true,
      packComponents: true,
      tile: true,
      // Collapsed namespaces are big boxes with many flows between them: push them further apart.
      idealEdgeLength: (edge) => (edge.hasClass("aggregate") ? 140 : 100),
      nodeRepulsion: (node) => (node.hasClass("collapsed") ? 30000 : 6000),
      edgeElasticity: (edge) => (edge.hasClass("aggregate") ? 0.2 : 0.45),
      nestingFactor: 0.6,
      gravity: 0.25,
      gravityCompound: 1.5,
      numIter: 2500,
      fit: true,
      padding: 30,
    }).run();
  } finally {
    Math.random = original;
  }
}

function podCounts() {
  const counts = new Map();
  for (const node of graphs.workload.nodes) {
    if (node.kind === "workload") counts.set(node.id, (node.pods || []).length);
  }
  return counts;
}

function render({ relayout }) {
  const view = granularView(graphs.workload, graphs.pod, state);
  const filtered = applyFilters(view, state, config.headline);
  const exposed = exposedIds(view, config.headline.exposed);
  const drawn = elementsFor(view, filtered, state, { collapsed: state.collapsed, exposed, podCounts: podCounts() });
  current = { view, filtered, drawn, exposed };
  if (!cy) {
    cy = window.cytoscape({
      container,
      style: styles(),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
    });
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
    runLayout();
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
  cy.elements().unselect();
  if (element.empty()) {
    closePanel();
    return;
  }
  element.select();
  if (element.isEdge()) showEdge(element);
  else if (element.data("kind") === "namespace") showNamespace(element);
  else showNode(element);
  if (center) cy.animate({ center: { eles: element }, zoom: Math.max(cy.zoom(), 1) }, { duration: 250 });
  else ensureVisible(element);
}

// Opening or closing the panel changes the drawing's width: keep the same point in the middle.
function resizeKeepingCentre() {
  const before = cy.width();
  cy.resize();
  cy.panBy({ x: (cy.width() - before) / 2, y: 0 });
}

function ensureVisible(element) {
  const view = cy.extent();
  const box = element.boundingBox();
  if (box.x1 < view.x1 || box.x2 > view.x2 || box.y1 < view.y1 || box.y2 > view.y2) {
    cy.animate({ center: { eles: element } }, { duration: 200 });
  }
}

function openPanel(title, children) {
  const wasClosed = page.classList.contains("panel-closed");
  page.classList.remove("panel-closed");
  document.getElementById("panel-title").textContent = title;
  panelBody.replaceChildren(...children);
  if (wasClosed) resizeKeepingCentre();
}

function closePanel() {
  const wasOpen = !page.classList.contains("panel-closed");
  page.classList.add("panel-closed");
  if (cy) {
    cy.elements().unselect();
    if (wasOpen) resizeKeepingCentre();
  }
  if (state.selected) {
    state.selected = "";
    saveState();
  }
}

function nodeLink(id) {
  const node = nodeIndex.get(id);
  const text = node ? nodeQualifiedName(node) : id;
  const button = el("button", { type: "button", class: "link" }, text);
  button.addEventListener("click", () => jumpTo(id));
  return button;
}

function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function labelsList(labels) {
  const entries = Object.entries(labels || {});
  if (entries.length === 0) return el("p", { class: "muted small" }, "No labels.");
  return el(
    "ul",
    { class: "chips" },
    entries.map(([k, v]) => el("li", { class: "chip" }, `${k}=${v}`)),
  );
}

// One line per policy, with the directions it selects the node for: "shop/web (ingress, egress)".
// Under Calico each line also says the policy's tier and order, and the lines come in the order
// Calico runs them (tier by tier, then by order).
function policyItems(policies) {
  const directions = new Map();
  for (const direction of ["ingress", "egress"]) {
    for (const id of policies[direction] || []) {
      if (!directions.has(id)) directions.set(id, []);
      directions.get(id).push(direction);
    }
  }
  const details = config.policy_details || {};
  const position = (id) => {
    const p = details[id] && details[id].position;
    return p === undefined || p === null ? Infinity : p;
  };
  const entries = [...directions.entries()].sort(
    ([a], [b]) => position(a) - position(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  return entries.map(([id, which]) => {
    const info = details[id] || {};
    const url = info.url || config.policy_urls[id];
    const link = url ? el("a", { href: url }, id) : el("span", {}, id);
    const children = [link, el("span", { class: "muted small" }, ` (${which.join(", ")})`)];
    if (info.tier) {
      children.push(
        el(
          "div",
          { class: "small muted policy-placement" },
          `${info.kind}, tier ${info.tier}, order ${info.order_text}`,
        ),
      );
    }
    return el("li", {}, children);
  });
}

function neighbourItems(edges, end) {
  if (edges.length === 0) return [el("li", { class: "muted" }, "None.")];
  return edges.map((edge) =>
    el("li", {}, [nodeLink(edge[end]), el("div", { class: "ports" }, portsText(edge))]),
  );
}

function flowUrl(source, target, protocol, port) {
  const params = new URLSearchParams({ src: source, dst: target, protocol: protocol || "TCP" });
  if (port !== null && port !== undefined) params.set("port", port);
  return `${config.urls.flow}?${params}`;
}

function showNode(element) {
  const id = element.id();
  const node = current.view.nodes.find((n) => n.id === id) || nodeIndex.get(id);
  if (!node) return;
  const children = [];
  const kindText = node.kind === "external" ? "address block outside the cluster" : node.kind;
  children.push(el("p", { class: "muted" }, `${kindText}${node.namespace ? ` in namespace ${node.namespace}` : ""}`));

  const marks = [];
  const iso = node.isolated || {};
  if (node.kind !== "external") {
    if (iso.ingress || iso.egress) {
      const which = iso.ingress && iso.egress ? "ingress and egress" : iso.ingress ? "ingress" : "egress";
      marks.push(el("span", {}, [markIcon("shield"), `Isolated for ${which}: only what policies allow gets through.`]));
    }
    if (!iso.ingress) marks.push(el("span", {}, "Not isolated for ingress: every source may connect in."));
    if (!iso.egress) marks.push(el("span", {}, "Not isolated for egress: it may connect anywhere."));
  }
  if (current.exposed.has(id)) marks.push(el("span", {}, [markIcon("globe"), "Reachable from outside the cluster."]));
  for (const why of node.unsupported || []) {
    marks.push(el("span", {}, `Unsupported: ${why} is not modelled, so its flows explain as UNSUPPORTED.`));
  }
  for (const why of node.approximate || []) {
    marks.push(el("span", {}, `Approximate edges: ${why} (the flow check is exact).`));
  }
  if (marks.length) children.push(el("div", { class: "marks" }, marks));

  if (node.kind === "external") {
    children.push(el("h3", {}, "Address blocks"));
    children.push(el("ul", { class: "chips" }, (node.cidrs || []).map((c) => el("li", { class: "chip" }, c))));
  } else {
    children.push(el("h3", {}, "Labels"));
    children.push(labelsList(node.labels));
    const policies = node.policies || { ingress: [], egress: [] };
    const all = new Set([...(policies.ingress || []), ...(policies.egress || [])]);
    children.push(el("h3", {}, "Policies"));
    const unit = node.kind === "workload" ? "workload" : "pod";
    children.push(
      el("p", { class: "small" }, `${count(all.size, "policy selects", "policies select")} this ${unit}.`),
    );
    if (all.size) {
      children.push(el("ul", { class: "plain" }, policyItems(policies)));
    }
    const admin = node.admin_policies || [];
    if (admin.length) {
      children.push(el("h3", {}, "Admin network policies"));
      children.push(
        el("p", { class: "small" }, `${count(admin.length, "admin network policy selects", "admin network policies select")} this ${unit} (cluster-wide: the Admin tier decides before its NetworkPolicies, the Baseline tier after).`),
      );
      children.push(el("ul", { class: "plain admin-policies" }, admin.map((text) => el("li", {}, text))));
    }
  }
  if (node.kind === "workload" && graphs.workload) {
    const pods = node.pods || [];
    const button = el("button", { type: "button", class: "secondary small" }, `Show its ${count(pods.length, "pod", "pods")}`);
    button.addEventListener("click", () => togglePods(id, true));
    children.push(el("p", {}, button));
  }
  if (node.kind === "pod" && node.workload && state.pods.includes(node.workload)) {
    const button = el("button", { type: "button", class: "secondary small" }, "Fold pods into their workload");
    button.addEventListener("click", () => togglePods(node.workload, false));
    children.push(el("p", {}, button));
  }
  const incoming = current.view.edges.filter((e) => e.target === id);
  const outgoing = current.view.edges.filter((e) => e.source === id);
  children.push(el("h3", {}, `Ingress: ${count(incoming.length, "source", "sources")}`));
  children.push(el("ul", { class: "plain" }, neighbourItems(incoming, "source")));
  children.push(el("h3", {}, `Egress: ${count(outgoing.length, "destination", "destinations")}`));
  children.push(el("ul", { class: "plain" }, neighbourItems(outgoing, "target")));
  if (node.kind !== "external") {
    children.push(el("p", {}, el("a", { href: flowUrl(endpointText(node), "", "TCP") }, "Check a flow from here")));
  }
  openPanel(nodeQualifiedName(node), children);
}

function markIcon(which) {
  return el("img", { class: "mark-icon", src: config.icons[which], alt: "" });
}

function showNamespace(element) {
  const namespace = element.data("namespace");
  const members = current.view.nodes.filter((n) => (n.namespace || OUTSIDE) === namespace);
  const title = namespace === OUTSIDE ? "outside cluster" : `namespace ${namespace}`;
  const whole = members.length === 1 && members[0].kind === "namespace" ? members[0] : null;
  const children = [
    whole
      ? el("p", {}, `${count(whole.pod_count || 0, "pod", "pods")} in ${count(whole.workload_count || 0, "workload", "workloads")}.`)
      : el("p", {}, `${count(members.length, state.level === "pod" ? "pod" : "node", state.level === "pod" ? "pods" : "nodes")} in this box.`),
  ];
  if (element.hasClass("collapsed")) {
    const open = el("button", { type: "button" }, "Expand");
    open.addEventListener("click", () => toggleNamespace(namespace, true));
    children.push(el("p", {}, open));
  } else if (state.collapsed) {
    const close = el("button", { type: "button", class: "secondary" }, "Collapse");
    close.addEventListener("click", () => toggleNamespace(namespace, false));
    children.push(el("p", {}, close));
  }
  if (namespace !== OUTSIDE) {
    children.push(el("p", {}, el("a", { href: `${config.urls.matrix}?ns=${encodeURIComponent(namespace)}` }, "Open its matrix")));
  }
  openPanel(title, children);
}

function showEdge(element) {
  const source = element.data("source");
  const target = element.data("target");
  const members = current.filtered.edges.filter(
    (e) => (current.drawn.drawnAs.get(e.source) === source) && (current.drawn.drawnAs.get(e.target) === target),
  );
  const children = [];
  if (members.length > 1 || !nodeIndex.has(source) || !nodeIndex.has(target)) {
    children.push(el("p", {}, `${count(members.length, "flow", "flows")} between these boxes:`));
    children.push(
      el(
        "ul",
        { class: "plain" },
        members.slice(0, 100).map((edge) =>
          el("li", {}, [
            nodeLink(edge.source),
            " → ",
            nodeLink(edge.target),
            el("div", { class: "ports" }, portsText(edge)),
          ]),
        ),
      ),
    );
    if (members.length > 100) children.push(el("p", { class: "muted" }, `and ${members.length - 100} more.`));
    openPanel(element.data("label"), children);
    return;
  }
  const edge = members[0];
  const sourceNode = nodeIndex.get(source);
  const targetNode = nodeIndex.get(target);
  children.push(el("p", {}, [nodeLink(source), " may reach ", nodeLink(target), "."]));
  children.push(el("h3", {}, "Allowed"));
  children.push(el("p", { class: "ports" }, portsText(edge)));

  const choices = portChoices(edge);
  const picker = el(
    "select",
    { id: "port-picker", name: "choice" },
    choices.map((c, i) => el("option", { value: String(i) }, c.text)),
  );
  const protocol = el("select", { id: "explain-protocol", name: "protocol" }, ["TCP", "UDP", "SCTP"].map((p) => el("option", {}, p)));
  const port = el("input", { id: "explain-port", name: "port", type: "number", min: 1, max: 65535, required: true });
  const form = el("form", { class: "field-row", id: "explain-form" }, [
    el("div", { class: "field" }, [el("label", { for: "port-picker" }, "Allowed port"), picker]),
    el("div", { class: "field" }, [el("label", { for: "explain-protocol" }, "Protocol"), protocol]),
    el("div", { class: "field" }, [el("label", { for: "explain-port" }, "Port"), port]),
    el("button", { type: "submit", class: "secondary small" }, "Explain"),
  ]);
  const result = el("div", { class: "explain", "aria-live": "polite" });
  const fullLink = el("a", {}, "Open the full trace");
  const explainNow = () => {
    const choice = { protocol: protocol.value, port: Number(port.value) };
    fullLink.href = flowUrl(endpointText(sourceNode), endpointText(targetNode), choice.protocol, choice.port);
    explainEdge(endpointText(sourceNode), endpointText(targetNode), choice, result);
  };
  const pick = () => {
    const choice = choices[Number(picker.value)];
    protocol.value = choice.protocol;
    port.value = String(choice.port);
    explainNow();
  };
  picker.addEventListener("change", pick);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.reportValidity()) explainNow();
  });
  children.push(el("h3", {}, "Why"));
  children.push(form);
  children.push(result);
  children.push(el("p", {}, fullLink));
  openPanel(`${nodeTitle(sourceNode)} → ${nodeTitle(targetNode)}`, children);
  pick();
}

async function explainEdge(source, target, choice, box) {
  box.replaceChildren(el("p", { class: "muted" }, "Explaining…"));
  const params = new URLSearchParams({ from: source, to: target, protocol: choice.protocol, port: choice.port });
  try {
    const explanation = await fetchJSON(`${config.urls.explain}?${params}`);
    box.replaceChildren(...renderExplanationSummary(explanation, config.policy_urls));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice error" }, `Could not explain this flow: ${error.message}`));
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
