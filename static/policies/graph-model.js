// The graph page's data work, without the DOM or cytoscape: which nodes and edges the current
// view shows, how ports print, what a filter keeps. graph.js draws what this module returns.
// Everything here is deterministic: the same graph and view state give the same elements in
// the same order, which keeps the seeded layout stable between reloads.

export const OUTSIDE = "__outside__";
export const L4 = ["TCP", "UDP", "SCTP"];

export function namespaceNodeId(namespace) {
  return `ns:${namespace || OUTSIDE}`;
}

export function edgeId(source, target) {
  return `e:${source}->${target}`;
}

function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---- ports ------------------------------------------------------------------------------

function rangeText(entry) {
  if (entry.from === null || entry.from === undefined) return "";
  return entry.from === entry.to ? `${entry.from}` : `${entry.from}-${entry.to}`;
}

const PORT_PROTOCOLS = ["TCP", "UDP", "SCTP", "UDPLite"];

function fullIntervals(protocol) {
  return PORT_PROTOCOLS.includes(protocol) ? [[1, 65535]] : [[0, 0]];
}

function sameIntervals(a, b) {
  return a.length === b.length && a.every(([from, to], i) => from === b[i][0] && to === b[i][1]);
}

// The part of a protocol's full range that `intervals` (normalised) leave out.
function complement(protocol, intervals) {
  const out = [];
  let next = PORT_PROTOCOLS.includes(protocol) ? 1 : 0;
  const last = PORT_PROTOCOLS.includes(protocol) ? 65535 : 0;
  for (const [from, to] of intervals) {
    if (from > next) out.push([next, from - 1]);
    next = Math.max(next, to + 1);
  }
  if (next <= last) out.push([next, last]);
  return out;
}

function partText(protocol, intervals, whole) {
  const name = /^\d+$/.test(protocol) ? `protocol ${protocol}` : protocol;
  if (!PORT_PROTOCOLS.includes(protocol)) return name;
  if (sameIntervals(intervals, fullIntervals(protocol))) return name + whole;
  return `${name} ${intervals.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(",")}`;
}

// The engine's one wording of a connection set (ConnectionSet.__str__): "All Connections",
// "No Connections", "TCP 80,443; UDP 53", "all but TCP 22 and UDP". Edges from the engine carry it
// as `text`; it is computed here only for unions the page makes (mergePorts).
export function portsText(edge) {
  if (edge.text !== undefined) return edge.text;
  if (edge.all) return "All Connections";
  const set = toSet(edge);
  const protocols = [...set.explicit.keys()].sort();
  const kept = protocols
    .map((protocol) => [protocol, normalise(set.explicit.get(protocol))])
    .filter(([protocol, intervals]) => (set.rest ? !sameIntervals(intervals, fullIntervals(protocol)) : intervals.length));
  if (!set.rest) {
    return kept.length ? kept.map(([protocol, intervals]) => partText(protocol, intervals, " all ports")).join("; ") : "No Connections";
  }
  if (!kept.length) return "All Connections";
  return `all but ${kept.map(([protocol, intervals]) => partText(protocol, complement(protocol, intervals), "")).join(" and ")}`;
}

// Whether an edge allows protocol (and port, when given). Mirrors ConnectionSet.allows:
// entries of a protocol list its ports; "*" stands for every protocol not in its "except".
export function edgeAllows(edge, protocol, port) {
  const intervals = intervalsOf(toSet(edge), protocol);
  if (port === null || port === undefined || !L4.includes(protocol)) return intervals.length > 0;
  return intervals.some(([from, to]) => from <= port && port <= to);
}

// "8080", "TCP/8080", "udp 53", "SCTP" -> {protocol, port}; null when empty or unreadable.
export function parsePortFilter(text) {
  const value = (text || "").trim();
  if (!value) return null;
  const match = value.match(/^(?:([A-Za-z]+)\s*[/ :]?\s*)?(\d{1,5})?$/);
  if (!match || (!match[1] && !match[2])) return null;
  if (match[1] && !L4.includes(match[1].toUpperCase())) return null;
  const port = match[2] ? Number(match[2]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { protocol: match[1] ? match[1].toUpperCase() : null, port };
}

function matchesPort(edge, filter) {
  if (!filter) return true;
  const protocols = filter.protocol ? [filter.protocol] : L4;
  return protocols.some((protocol) => edgeAllows(edge, protocol, filter.port));
}

// The choices for the side panel's port picker: one per allowed range, first port first.
// A TCP, UDP or SCTP flow always names a port: an edge that allows every port offers a
// common one, and the panel lets the reader type another.
export function portChoices(edge) {
  const choices = [];
  for (const entry of edge.all ? [] : edge.ports || []) {
    if (!L4.includes(entry.protocol) || entry.from === null || entry.from === undefined) continue;
    let text = `${entry.protocol} ${entry.from}`;
    if (entry.to !== entry.from) text += ` (of ${entry.from}-${entry.to})`;
    choices.push({ protocol: entry.protocol, port: entry.from, text });
  }
  if (choices.length === 0) {
    const text = edge.all ? "TCP 80 (every port is allowed)" : "TCP 80";
    choices.push({ protocol: "TCP", port: 80, text });
  }
  return choices;
}

// An edge's ports as the engine's ConnectionSet: protocol -> sorted [from, to] intervals (a
// portless protocol is [[0, 0]]), plus "rest": every protocol not in the map, all ports.
function toSet(edge) {
  const explicit = new Map();
  let rest = Boolean(edge.all);
  for (const entry of edge.all ? [] : edge.ports || []) {
    if (entry.protocol === "*") {
      rest = true;
      for (const protocol of entry.except || []) if (!explicit.has(protocol)) explicit.set(protocol, []);
      continue;
    }
    if (!explicit.has(entry.protocol)) explicit.set(entry.protocol, []);
    const portless = entry.from === null || entry.from === undefined;
    explicit.get(entry.protocol).push(portless ? [0, 0] : [entry.from, entry.to]);
  }
  return { explicit, rest };
}

function intervalsOf(set, protocol) {
  if (set.explicit.has(protocol)) return set.explicit.get(protocol);
  if (!set.rest) return [];
  return L4.includes(protocol) ? [[1, 65535]] : [[0, 0]];
}

function normalise(intervals) {
  const sorted = [...intervals].sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

// Union of two edges' ports between the same pair (used when pods fold into a workload or
// workloads into a namespace). Exact, like ConnectionSet's "|".
export function mergePorts(a, b) {
  if (a.all || b.all) return { all: true, ports: [] };
  const sa = toSet(a);
  const sb = toSet(b);
  const protocols = [...new Set([...sa.explicit.keys(), ...sb.explicit.keys()])].sort();
  const rest = sa.rest || sb.rest;
  const ports = [];
  for (const protocol of protocols) {
    for (const [from, to] of normalise([...intervalsOf(sa, protocol), ...intervalsOf(sb, protocol)])) {
      const portless = !L4.includes(protocol) && from === 0;
      ports.push({ protocol, from: portless ? null : from, to: portless ? null : to });
    }
  }
  if (rest) ports.push({ protocol: "*", from: null, to: null, except: protocols });
  return { all: false, ports };
}

// ---- labels ---------------------------------------------------------------------------

// A small label selector: "app=web, tier!=db, team" (comma or space separated). Terms are
// ANDed. A term without "=" matches a key, or any part of a key or value ("web").
export function parseLabelFilter(text) {
  const terms = [];
  for (const raw of (text || "").split(/[,\s]+/)) {
    const term = raw.trim();
    if (!term) continue;
    const m = term.match(/^([^!=]+)(!=|==|=)(.*)$/);
    if (m) terms.push({ key: m[1], op: m[2] === "!=" ? "ne" : "eq", value: m[3] });
    else terms.push({ key: term, op: "has" });
  }
  return terms;
}

export function labelsMatch(labels, terms) {
  const map = labels || {};
  return terms.every((term) => {
    if (term.op === "eq") return map[term.key] === term.value;
    if (term.op === "ne") return map[term.key] !== term.value;
    if (term.key in map) return true;
    const needle = term.key.toLowerCase();
    return Object.entries(map).some(
      ([k, v]) => k.toLowerCase().includes(needle) || String(v).toLowerCase().includes(needle),
    );
  });
}

// ---- the view ---------------------------------------------------------------------------

export function defaultState() {
  return {
    level: "workload", // or "pod"
    namespace: "",
    label: "",
    port: "",
    direction: "both", // "in", "out" or "both", relative to the nodes the filters pick
    only: "", // "exposed", "not-isolated", "internet": a headline set from the overview; "changed"
    against: "", // the snapshot "changed" compares with (the server fills the set)
    selected: "",
    open: [], // namespaces expanded while the graph starts collapsed
    pods: [], // workloads shown as their pods
    collapsed: null, // null: decide from the graph's size
  };
}

const PARAMS = {
  level: "level",
  namespace: "ns",
  label: "label",
  port: "port",
  direction: "dir",
  only: "only",
  against: "against",
  selected: "sel",
};

export function stateFromParams(params) {
  const state = defaultState();
  for (const [key, name] of Object.entries(PARAMS)) {
    if (params.get(name)) state[key] = params.get(name);
  }
  if (!["workload", "pod"].includes(state.level)) state.level = "workload";
  if (!["in", "out", "both"].includes(state.direction)) state.direction = "both";
  state.open = (params.get("open") || "").split(",").filter(Boolean).sort();
  state.pods = (params.get("pods") || "").split(",").filter(Boolean).sort();
  if (params.get("collapsed") === "0") state.collapsed = false;
  if (params.get("collapsed") === "1") state.collapsed = true;
  return state;
}

export function stateToParams(state) {
  const params = new URLSearchParams();
  const defaults = defaultState();
  for (const [key, name] of Object.entries(PARAMS)) {
    if (state[key] && state[key] !== defaults[key]) params.set(name, state[key]);
  }
  if (state.open.length) params.set("open", [...state.open].sort().join(","));
  if (state.pods.length) params.set("pods", [...state.pods].sort().join(","));
  if (state.collapsed !== null) params.set("collapsed", state.collapsed ? "1" : "0");
  return params;
}

// An address block's id lists its ranges ("0.0.0.0-10.255.255.255,12.0.0.0-..."): the title shows
// the first and how many more, since the full CIDR list of "the internet but X" runs to dozens.
export function nodeTitle(node) {
  if (node.kind === "external") {
    if (node.name) return node.name;
    const ranges = node.id.split(",");
    if (ranges.length === 1) return (node.cidrs || []).length === 1 ? node.cidrs[0] : ranges[0];
    return `${ranges[0]} +${ranges.length - 1} more`;
  }
  return node.name || node.id;
}

// Box size for a label (cytoscape's own "label" sizing is deprecated): monospace-ish estimate.
export function labelBox(label, { fontSize = 11, padding = 18 } = {}) {
  const lines = label.split("\n");
  const longest = Math.max(...lines.map((l) => l.length));
  return { w: Math.ceil(longest * fontSize * 0.62) + padding, h: Math.ceil(lines.length * fontSize * 1.3) + padding };
}

// The full id a person types or reads: namespace/name for pods and workloads.
export function nodeQualifiedName(node) {
  if (node.kind === "external") return nodeTitle(node);
  return node.namespace ? `${node.namespace}/${node.name}` : node.name || node.id;
}

// What the engine accepts as a flow's end: the node id, or for an address block one address
// inside it (its first CIDR's first host address).
export function endpointText(node) {
  if (node.kind !== "external") return node.id;
  const cidr = (node.cidrs || [])[0] || node.id.split(",")[0];
  const [address, prefix] = cidr.split("/");
  if (!address.includes(".") || Number(prefix) >= 31) return address.split("-")[0];
  const parts = address.split(".").map(Number);
  const value = ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3] + 1;
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

// Nodes and edges at the chosen granularity, before filters and collapsing: the workload
// graph, or the pod graph, or the workload graph with some workloads opened into pods.
export function granularView(workloadGraph, podGraph, state) {
  if (state.level === "pod" && podGraph) {
    return { nodes: [...podGraph.nodes].sort(byId), edges: podGraph.edges.map(copyEdge) };
  }
  const opened = new Set(podGraph ? state.pods : []);
  if (opened.size === 0) {
    return { nodes: [...workloadGraph.nodes].sort(byId), edges: workloadGraph.edges.map(copyEdge) };
  }
  const nodes = workloadGraph.nodes.filter((n) => !opened.has(n.id));
  const shownPods = podGraph.nodes.filter((n) => n.kind === "pod" && opened.has(n.workload));
  nodes.push(...shownPods);
  // A pod-level endpoint is drawn as itself when its workload is open, else as its workload.
  const podIds = new Set(shownPods.map((n) => n.id));
  const rep = new Map();
  for (const n of podGraph.nodes) {
    rep.set(n.id, podIds.has(n.id) || n.kind !== "pod" || !n.workload ? n.id : n.workload);
  }
  const merged = new Map();
  const add = (source, target, edge) => {
    if (source === target) return;
    const key = edgeId(source, target);
    const prev = merged.get(key);
    const ports = prev ? mergePorts(prev, edge) : { all: edge.all, ports: edge.ports || [] };
    merged.set(key, { source, target, ...ports });
  };
  for (const e of workloadGraph.edges) {
    if (!opened.has(e.source) && !opened.has(e.target)) add(e.source, e.target, e);
  }
  for (const e of podGraph.edges) {
    if (podIds.has(e.source) || podIds.has(e.target)) add(rep.get(e.source), rep.get(e.target), e);
  }
  const edges = [...merged.values()].sort((a, b) => (edgeId(a.source, a.target) < edgeId(b.source, b.target) ? -1 : 1));
  return { nodes: nodes.sort(byId), edges };
}

function copyEdge(e) {
  return { source: e.source, target: e.target, all: Boolean(e.all), ports: e.ports || [] };
}

// Which nodes the filters pick ("focus") and which edges and nodes stay visible.
export function applyFilters(view, state, headline) {
  const terms = parseLabelFilter(state.label);
  const portFilter = parsePortFilter(state.port);
  const onlySet = state.only && headline ? new Set(headline[state.only] || []) : null;
  const picking = Boolean(state.namespace || terms.length || onlySet);
  const focus = new Set();
  for (const node of view.nodes) {
    if (state.namespace && (node.namespace || OUTSIDE) !== state.namespace) continue;
    if (terms.length && !labelsMatch(node.labels, terms)) continue;
    if (onlySet && !onlySet.has(node.id) && !onlySet.has(node.workload)) continue;
    focus.add(node.id);
  }
  const edges = view.edges.filter((edge) => {
    if (!matchesPort(edge, portFilter)) return false;
    if (!picking) return true;
    if (state.direction === "in") return focus.has(edge.target);
    if (state.direction === "out") return focus.has(edge.source);
    return focus.has(edge.source) || focus.has(edge.target);
  });
  const visible = new Set();
  if (!portFilter) for (const id of focus) visible.add(id);
  for (const edge of edges) {
    visible.add(edge.source);
    visible.add(edge.target);
  }
  return { focus, visible, edges, picking, portFilter };
}

// Marks drawn on a node: the shield (isolated) and the globe (reachable from outside).
export function nodeMarks(node, exposed) {
  const iso = node.isolated || {};
  const marks = [];
  if (iso.ingress && iso.egress) marks.push("isolated in+out");
  else if (iso.ingress) marks.push("isolated in");
  else if (iso.egress) marks.push("isolated out");
  if (exposed.has(node.id)) marks.push("exposed");
  if ((node.unsupported || []).length) marks.push("unsupported");
  else if ((node.approximate || []).length) marks.push("approximate");
  return {
    shield: Boolean(iso.ingress || iso.egress),
    globe: exposed.has(node.id),
    text: marks.join(" · "),
  };
}

// Endpoints that an external block may reach: the engine's list plus what the edges say.
export function exposedIds(view, headlineIds) {
  const external = new Set(view.nodes.filter((n) => n.kind === "external").map((n) => n.id));
  const ids = new Set(headlineIds || []);
  for (const edge of view.edges) {
    if (external.has(edge.source) && !external.has(edge.target)) ids.add(edge.target);
  }
  return ids;
}

// Collapse namespaces into single nodes. Returns elements ready for cytoscape (plain objects),
// including compound parents for open namespaces.
export function elementsFor(view, filtered, state, options) {
  const { collapsed, exposed, podCounts } = options;
  const nodesById = new Map(view.nodes.map((n) => [n.id, n]));
  const groupOf = (node) => node.namespace || OUTSIDE;
  const closed = new Set();
  if (collapsed) {
    for (const node of view.nodes) if (!state.open.includes(groupOf(node))) closed.add(groupOf(node));
  }
  const elements = [];
  const members = new Map(); // namespace -> visible member count
  const shownGroups = new Set();
  for (const node of view.nodes) {
    if (!filtered.visible.has(node.id)) continue;
    const group = groupOf(node);
    shownGroups.add(group);
    members.set(group, (members.get(group) || 0) + 1);
  }
  const unit = state.level === "pod" ? ["pod", "pods"] : ["workload", "workloads"];
  for (const group of [...shownGroups].sort()) {
    const count = members.get(group);
    const title = group === OUTSIDE ? "outside cluster" : group;
    const isClosed = closed.has(group);
    const nouns = group === OUTSIDE ? ["address block", "address blocks"] : unit;
    // At namespace level a closed box is the namespace's own node: its counts, its size by pods.
    const whole = nodesById.get(group);
    let label = isClosed ? `${title}\n${count} ${count === 1 ? nouns[0] : nouns[1]}` : title;
    let box = labelBox(label, { fontSize: 12, padding: 30 });
    if (isClosed && whole && whole.kind === "namespace") {
      const pods = whole.pod_count || 0;
      const workloads = whole.workload_count || 0;
      label = `${title}\n${pods} ${pods === 1 ? "pod" : "pods"} · ${workloads} ${workloads === 1 ? "workload" : "workloads"}`;
      box = namespaceBoxSize(label, pods);
    }
    elements.push({
      group: "nodes",
      data: { id: namespaceNodeId(group), label, namespace: group, kind: "namespace", count, w: box.w, h: box.h },
      classes: ["namespace", isClosed ? "collapsed" : "open", group === OUTSIDE ? "outside" : ""]
        .filter(Boolean)
        .join(" "),
    });
  }
  const drawnAs = new Map();
  for (const node of view.nodes) {
    if (!filtered.visible.has(node.id)) continue;
    const group = groupOf(node);
    if (closed.has(group)) {
      drawnAs.set(node.id, namespaceNodeId(group));
      continue;
    }
    drawnAs.set(node.id, node.id);
    const marks = nodeMarks(node, exposed);
    const title = nodeTitle(node);
    const pods = podCounts && podCounts.get(node.id);
    const sub = [node.kind === "workload" && pods ? `${pods} ${pods === 1 ? "pod" : "pods"}` : "", marks.text]
      .filter(Boolean)
      .join(" · ");
    const classes = [node.kind];
    if (marks.shield) classes.push("shield");
    if (marks.globe) classes.push("globe");
    if (filtered.picking) classes.push(filtered.focus.has(node.id) ? "focus" : "context");
    const label = sub ? `${title}\n${sub}` : title;
    const box = labelBox(label, { fontSize: node.kind === "pod" ? 10 : 11, padding: marks.shield || marks.globe ? 30 : 18 });
    elements.push({
      group: "nodes",
      data: {
        id: node.id,
        parent: namespaceNodeId(group),
        label,
        kind: node.kind,
        namespace: node.namespace || "",
        w: box.w,
        h: box.h,
      },
      classes: classes.join(" "),
    });
  }
  const merged = new Map();
  for (const edge of filtered.edges) {
    const source = drawnAs.get(edge.source);
    const target = drawnAs.get(edge.target);
    if (!source || !target || source === target) continue;
    const key = edgeId(source, target);
    const prev = merged.get(key);
    if (prev) {
      Object.assign(prev, mergePorts(prev, edge));
      prev.members.push(edge);
    } else {
      merged.set(key, { source, target, all: edge.all, ports: edge.ports, members: [edge] });
    }
  }
  for (const [key, edge] of [...merged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const aggregated = edge.members.length > 1;
    let label = portsText(edge);
    if (aggregated) {
      const n = edge.members.length;
      label = `${n} ${n === 1 ? "flow" : "flows"} · ${portsText({ all: edge.all, ports: edge.ports })}`;
    }
    elements.push({
      group: "edges",
      data: { id: key, source: edge.source, target: edge.target, label, members: edge.members.length },
      classes: [edge.all ? "open-all" : "open-some", aggregated ? "aggregate" : ""].filter(Boolean).join(" "),
    });
  }
  return { elements, drawnAs, closed };
}

// A small seeded PRNG (mulberry32), so that the force layout draws the same picture each time.
export function seededRandom(seedText) {
  let seed = 2166136261;
  for (let i = 0; i < seedText.length; i++) {
    seed ^= seedText.charCodeAt(i);
    seed = Math.imul(seed, 16777619);
  }
  return function random() {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- namespace first (large clusters) -----------------------------------------------------

// The graph the page draws when it opens at namespace level: the namespace graph, with the
// namespaces in `slice` (the API's ?namespace=A,B answer, or null) replaced by their workloads
// or pods. The slice holds every edge into or out of those namespaces, the other ends folded
// into namespace nodes; the namespace graph gives the edges between the other namespaces.
export function composeGraph(namespaceGraph, slice) {
  const opened = new Set(slice ? slice.namespaces || [] : []);
  const nodes = new Map();
  for (const node of slice ? slice.nodes : []) nodes.set(node.id, node);
  for (const node of namespaceGraph.nodes) {
    if (node.kind === "namespace" && opened.has(node.id)) continue;
    if (!nodes.has(node.id)) nodes.set(node.id, node);
  }
  const edges = namespaceGraph.edges.filter(
    (e) => e.source !== e.target && !opened.has(e.source) && !opened.has(e.target),
  );
  if (slice) edges.push(...slice.edges.filter((e) => e.source !== e.target));
  return {
    ...namespaceGraph,
    level: slice ? slice.level : "namespace",
    nodes: [...nodes.values()].sort(byId),
    edges: edges.sort((a, b) => (edgeId(a.source, a.target) < edgeId(b.source, b.target) ? -1 : 1)),
  };
}

// "ns-2" before "ns-10": names compared by their runs of digits as numbers.
export function naturalCompare(a, b) {
  const split = (s) => String(s).split(/(\d+)/).map((part, i) => (i % 2 ? Number(part) : part));
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    if (typeof x[i] === "number" && typeof y[i] === "number") return x[i] - y[i];
    return String(x[i]) < String(y[i]) ? -1 : 1;
  }
  return x.length - y.length;
}

// A collapsed namespace box grows with its pods: the area about proportional to the count.
export function namespaceBoxSize(label, pods) {
  const box = labelBox(label, { fontSize: 12, padding: 30 });
  const side = Math.round(40 + 9 * Math.sqrt(pods || 0));
  return { w: Math.max(box.w, side), h: Math.max(box.h, Math.round(side * 0.6)) };
}

export const BOX_PADDING = 14; // the namespace box's padding (graph.js' style)
export const BOX_LABEL = 26; // room above an open box for its name
export const BOX_GAP = 48;

// Positions for every leaf node of `elements` (elementsFor's output) so that no two namespace
// boxes overlap: each open namespace lays out its members in a grid, then the boxes are packed
// in rows (shelves) in natural name order, "outside cluster" last. Deterministic, and quick at
// any size, unlike a force layout.
export function packedLayout(elements) {
  const groups = new Map(); // namespace box id -> {id, w, h, children, open}
  for (const e of elements) {
    if (e.group !== "nodes" || e.data.kind !== "namespace") continue;
    const open = !e.classes.split(" ").includes("collapsed");
    groups.set(e.data.id, { id: e.data.id, name: e.data.namespace, open, w: e.data.w, h: e.data.h, children: [] });
  }
  for (const e of elements) {
    if (e.group === "nodes" && e.data.parent && groups.has(e.data.parent)) groups.get(e.data.parent).children.push(e);
  }
  for (const group of groups.values()) {
    if (!group.open) continue;
    const n = group.children.length;
    const cellW = Math.max(...group.children.map((c) => c.data.w), 40) + 24;
    const cellH = Math.max(...group.children.map((c) => c.data.h), 20) + 24;
    const cols = Math.max(1, Math.ceil(Math.sqrt((n * cellH) / cellW * 1.6)));
    group.cols = cols;
    group.cellW = cellW;
    group.cellH = cellH;
    const rows = Math.ceil(n / cols);
    group.w = Math.max(cols * cellW + 2 * BOX_PADDING, group.w);
    group.h = rows * cellH + 2 * BOX_PADDING + BOX_LABEL;
  }
  const order = [...groups.values()].sort((a, b) => {
    const outA = a.name === OUTSIDE;
    const outB = b.name === OUTSIDE;
    return outA === outB ? naturalCompare(a.name, b.name) : outA ? 1 : -1;
  });
  const area = order.reduce((sum, g) => sum + (g.w + BOX_GAP) * (g.h + BOX_GAP), 0);
  const width = Math.max(Math.sqrt(area) * 1.5, ...order.map((g) => g.w + BOX_GAP));
  const positions = new Map();
  const boxes = new Map();
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const group of order) {
    if (x > 0 && x + group.w > width) {
      x = 0;
      y += rowHeight + BOX_GAP;
      rowHeight = 0;
    }
    boxes.set(group.id, { x1: x, y1: y, x2: x + group.w, y2: y + group.h });
    if (group.open) {
      const left = x + (group.w - group.cols * group.cellW) / 2;
      const top = y + BOX_LABEL + BOX_PADDING;
      const children = [...group.children].sort(byDataId);
      children.forEach((child, i) => {
        const col = i % group.cols;
        const row = Math.floor(i / group.cols);
        positions.set(child.data.id, { x: left + col * group.cellW + group.cellW / 2, y: top + row * group.cellH + group.cellH / 2 });
      });
    } else {
      positions.set(group.id, { x: x + group.w / 2, y: y + group.h / 2 });
    }
    x += group.w + BOX_GAP;
    rowHeight = Math.max(rowHeight, group.h);
  }
  return { positions, boxes };
}

function byDataId(a, b) {
  return a.data.id < b.data.id ? -1 : a.data.id > b.data.id ? 1 : 0;
}
