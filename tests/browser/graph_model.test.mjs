// Unit tests of static/policies/graph-model.js (node --test; run by test_graph_model.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyFilters,
  composeGraph,
  edgeAllows,
  elementsFor,
  endpointText,
  exposedIds,
  granularView,
  labelsMatch,
  mergePorts,
  naturalCompare,
  nodeMarks,
  packedLayout,
  nodeTitle,
  parseLabelFilter,
  parsePortFilter,
  portChoices,
  portsText,
  seededRandom,
  stateFromParams,
  stateToParams,
} from "../../static/policies/graph-model.js";

const tcp = (from, to = from) => ({ protocol: "TCP", from, to });

test("ports print in the engine's one wording", () => {
  assert.equal(portsText({ all: true, ports: [] }), "All Connections");
  assert.equal(portsText({ all: false, ports: [] }), "No Connections");
  assert.equal(portsText({ all: false, ports: [tcp(80), tcp(443), { protocol: "UDP", from: 53, to: 53 }] }), "TCP 80,443; UDP 53");
  assert.equal(portsText({ all: false, ports: [tcp(1000, 2000)] }), "TCP 1000-2000");
  assert.equal(
    portsText({ all: false, ports: [tcp(1, 79), { protocol: "*", from: null, to: null, except: ["TCP", "UDP"] }] }),
    "all but TCP 80-65535 and UDP",
  );
  assert.equal(portsText({ all: false, ports: [{ protocol: "*", from: null, to: null, except: ["TCP"] }] }), "all but TCP");
  // an edge from the engine carries its text, which wins
  assert.equal(portsText({ all: false, ports: [tcp(80)], text: "TCP 80" }), "TCP 80");
});

test("edgeAllows follows the engine's '*' except semantics", () => {
  const edge = { all: false, ports: [tcp(8080), { protocol: "*", from: null, to: null, except: ["TCP", "UDP"] }] };
  assert.equal(edgeAllows(edge, "TCP", 8080), true);
  assert.equal(edgeAllows(edge, "TCP", 8081), false);
  assert.equal(edgeAllows(edge, "UDP", 53), false, "UDP is excepted and has no entries of its own");
  assert.equal(edgeAllows(edge, "SCTP", 9), true, "SCTP falls under '*'");
  assert.equal(edgeAllows({ all: true, ports: [] }, "UDP", 1), true);
  assert.equal(edgeAllows({ all: false, ports: [tcp(80)] }, "UDP", 80), false);
});

test("mergePorts is an exact union", () => {
  assert.deepEqual(mergePorts({ all: false, ports: [tcp(80, 90)] }, { all: false, ports: [tcp(91, 100), tcp(443)] }), {
    all: false,
    ports: [tcp(80, 100), tcp(443)],
  });
  assert.deepEqual(mergePorts({ all: true, ports: [] }, { all: false, ports: [tcp(1)] }), { all: true, ports: [] });
  // Everything but UDP, plus TCP 80: UDP stays closed.
  const merged = mergePorts(
    { all: false, ports: [{ protocol: "*", from: null, to: null, except: ["UDP"] }] },
    { all: false, ports: [tcp(80)] },
  );
  assert.equal(edgeAllows(merged, "UDP", 53), false);
  assert.equal(edgeAllows(merged, "TCP", 22), true, "A already allows every TCP port");
  assert.equal(edgeAllows(merged, "SCTP", 9), true);
});

test("port filter text", () => {
  assert.deepEqual(parsePortFilter("8080"), { protocol: null, port: 8080 });
  assert.deepEqual(parsePortFilter("tcp/443"), { protocol: "TCP", port: 443 });
  assert.deepEqual(parsePortFilter("UDP 53"), { protocol: "UDP", port: 53 });
  assert.deepEqual(parsePortFilter("SCTP"), { protocol: "SCTP", port: null });
  assert.equal(parsePortFilter(""), null);
  assert.equal(parsePortFilter("99999"), null);
  assert.equal(parsePortFilter("web"), null);
});

test("label filter: selectors and free text", () => {
  const labels = { app: "web", tier: "frontend" };
  assert.equal(labelsMatch(labels, parseLabelFilter("app=web")), true);
  assert.equal(labelsMatch(labels, parseLabelFilter("app=web, tier!=frontend")), false);
  assert.equal(labelsMatch(labels, parseLabelFilter("tier")), true);
  assert.equal(labelsMatch(labels, parseLabelFilter("front")), true);
  assert.equal(labelsMatch(labels, parseLabelFilter("db")), false);
});

test("the URL keeps the view", () => {
  const params = new URLSearchParams("level=pod&ns=shop&label=app%3Dweb&port=8080&dir=in&sel=shop%2Fweb&open=b,a&pods=x");
  const state = stateFromParams(params);
  assert.equal(state.level, "pod");
  assert.equal(state.direction, "in");
  assert.deepEqual(state.open, ["a", "b"]);
  assert.equal(stateToParams(state).toString(), "level=pod&ns=shop&label=app%3Dweb&port=8080&dir=in&sel=shop%2Fweb&open=a%2Cb&pods=x");
  assert.equal(stateFromParams(new URLSearchParams("level=bogus&dir=sideways")).level, "workload");
  assert.equal(stateToParams(stateFromParams(new URLSearchParams(""))).toString(), "");
});

// shop: web (2 pods) -> api (1 pod) on TCP 8080; the outside reaches web on all ports.
const workloadGraph = {
  nodes: [
    { id: "shop/Deployment/api", kind: "workload", namespace: "shop", name: "api", labels: { app: "api" }, pods: ["shop/api-1"], isolated: { ingress: true, egress: false } },
    { id: "shop/Deployment/web", kind: "workload", namespace: "shop", name: "web", labels: { app: "web" }, pods: ["shop/web-1", "shop/web-2"], isolated: { ingress: false, egress: false } },
    { id: "0.0.0.0/0", kind: "external", namespace: "", name: "", labels: {}, cidrs: ["0.0.0.0/0"] },
  ],
  edges: [
    { source: "shop/Deployment/web", target: "shop/Deployment/api", all: false, ports: [tcp(8080)] },
    { source: "0.0.0.0/0", target: "shop/Deployment/web", all: true, ports: [] },
  ],
};
const podGraph = {
  nodes: [
    { id: "shop/api-1", kind: "pod", namespace: "shop", name: "api-1", workload: "shop/Deployment/api", labels: { app: "api" } },
    { id: "shop/web-1", kind: "pod", namespace: "shop", name: "web-1", workload: "shop/Deployment/web", labels: { app: "web" } },
    { id: "shop/web-2", kind: "pod", namespace: "shop", name: "web-2", workload: "shop/Deployment/web", labels: { app: "web" } },
    { id: "0.0.0.0/0", kind: "external", namespace: "", name: "", labels: {}, cidrs: ["0.0.0.0/0"] },
  ],
  edges: [
    { source: "shop/web-1", target: "shop/api-1", all: false, ports: [tcp(8080)] },
    { source: "shop/web-2", target: "shop/api-1", all: false, ports: [tcp(8080)] },
    { source: "shop/web-1", target: "shop/web-2", all: true, ports: [] },
    { source: "0.0.0.0/0", target: "shop/web-1", all: true, ports: [] },
    { source: "0.0.0.0/0", target: "shop/web-2", all: true, ports: [] },
  ],
};

test("opening a workload shows its pods with edges to the other workloads", () => {
  const state = { ...stateFromParams(new URLSearchParams("")), pods: ["shop/Deployment/web"] };
  const view = granularView(workloadGraph, podGraph, state);
  assert.deepEqual(
    view.nodes.map((n) => n.id),
    ["0.0.0.0/0", "shop/Deployment/api", "shop/web-1", "shop/web-2"],
  );
  assert.deepEqual(
    view.edges.map((e) => `${e.source}>${e.target}`),
    ["0.0.0.0/0>shop/web-1", "0.0.0.0/0>shop/web-2", "shop/web-1>shop/Deployment/api", "shop/web-1>shop/web-2", "shop/web-2>shop/Deployment/api"],
  );
});

test("filters: namespace and direction pick nodes, port picks edges", () => {
  const view = granularView(workloadGraph, null, stateFromParams(new URLSearchParams("")));
  const state = stateFromParams(new URLSearchParams("label=app%3Dapi&dir=in"));
  const filtered = applyFilters(view, state, {});
  assert.deepEqual([...filtered.focus], ["shop/Deployment/api"]);
  assert.deepEqual(filtered.edges.map((e) => e.source), ["shop/Deployment/web"]);
  const outOnly = applyFilters(view, stateFromParams(new URLSearchParams("label=app%3Dapi&dir=out")), {});
  assert.deepEqual(outOnly.edges, []);
  const byPort = applyFilters(view, stateFromParams(new URLSearchParams("port=UDP%2F53")), {});
  assert.deepEqual(byPort.edges.map((e) => e.target), ["shop/Deployment/web"], "only the all-traffic edge allows UDP 53");
  const only = applyFilters(view, stateFromParams(new URLSearchParams("only=exposed")), { exposed: ["shop/Deployment/web"] });
  assert.deepEqual([...only.focus], ["shop/Deployment/web"]);
});

test("collapsed namespaces become single boxes with aggregated edges", () => {
  const state = stateFromParams(new URLSearchParams(""));
  const view = granularView(workloadGraph, null, state);
  const filtered = applyFilters(view, state, {});
  const exposed = exposedIds(view, []);
  assert.deepEqual([...exposed], ["shop/Deployment/web"]);
  const { elements } = elementsFor(view, filtered, state, { collapsed: true, exposed, podCounts: new Map() });
  const nodes = elements.filter((e) => e.group === "nodes").map((e) => [e.data.id, e.data.label]);
  assert.deepEqual(nodes, [
    ["ns:__outside__", "outside cluster\n1 address block"],
    ["ns:shop", "shop\n2 workloads"],
  ]);
  const edges = elements.filter((e) => e.group === "edges").map((e) => [e.data.id, e.data.label, e.classes]);
  // one flow between two boxes says what it allows; several are counted
  assert.deepEqual(edges, [["e:ns:__outside__->ns:shop", "All Connections", "open-all"]]);

  const open = elementsFor(view, filtered, { ...state, open: ["shop"] }, { collapsed: true, exposed, podCounts: new Map([["shop/Deployment/web", 2]]) });
  const web = open.elements.find((e) => e.data.id === "shop/Deployment/web");
  assert.equal(web.data.parent, "ns:shop");
  assert.equal(web.data.label, "web\n2 pods · exposed");
  assert.equal(web.classes, "workload globe");
  const api = open.elements.find((e) => e.data.id === "shop/Deployment/api");
  assert.equal(api.classes, "workload shield");
  const edge = open.elements.find((e) => e.data.id === "e:shop/Deployment/web->shop/Deployment/api");
  assert.equal(edge.data.label, "TCP 8080");
  assert.equal(edge.classes, "open-some");
});

test("same input, same elements and the same random stream", () => {
  const state = stateFromParams(new URLSearchParams(""));
  const build = () => {
    const view = granularView(workloadGraph, podGraph, state);
    return elementsFor(view, applyFilters(view, state, {}), state, { collapsed: false, exposed: new Set(), podCounts: new Map() }).elements;
  };
  assert.deepEqual(build(), build());
  const a = seededRandom("x|y");
  const b = seededRandom("x|y");
  const first = [a(), a(), a()];
  assert.deepEqual(first, [b(), b(), b()]);
  assert.ok(first.every((v) => v >= 0 && v < 1));
  assert.notDeepEqual(first, [seededRandom("other")(), 0, 0].slice(0, 3));
});

test("a flow's end for an address block is an address inside it", () => {
  assert.equal(endpointText({ id: "10.0.0.0/8", kind: "external", cidrs: ["10.0.0.0/8"] }), "10.0.0.1");
  assert.equal(endpointText({ id: "203.0.113.7/32", kind: "external", cidrs: ["203.0.113.7/32"] }), "203.0.113.7");
  assert.equal(endpointText({ id: "shop/web-1", kind: "pod" }), "shop/web-1");
  assert.equal(nodeTitle({ id: "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255", kind: "external", cidrs: [] }), "0.0.0.0-9.255.255.255 +1 more");
});

test("port choices name a port even when every port is open", () => {
  assert.deepEqual(portChoices({ all: true, ports: [] }), [{ protocol: "TCP", port: 80, text: "TCP 80 (every port is allowed)" }]);
  assert.deepEqual(portChoices({ all: false, ports: [tcp(8000, 8100), { protocol: "UDP", from: 53, to: 53 }] }).map((c) => c.text), [
    "TCP 8000 (of 8000-8100)",
    "UDP 53",
  ]);
});

test("node marks name isolation, exposure, and unsupported or approximate edges in words", () => {
  const exposed = new Set(["x/Deployment/a"]);
  const isolated = { id: "x/Deployment/a", kind: "workload", isolated: { ingress: true, egress: false } };
  assert.equal(nodeMarks(isolated, exposed).text, "isolated in · exposed");
  assert.equal(nodeMarks({ ...isolated, approximate: ["x/p ingress rule 0: http"] }, exposed).text,
    "isolated in · exposed · approximate");
  assert.equal(nodeMarks({ ...isolated, unsupported: ["AdminNetworkPolicy t"], approximate: ["r"] }, new Set()).text,
    "isolated in · unsupported");
});

// ---- namespace first ---------------------------------------------------------------------

const nsNode = (id, pods) => ({ id, kind: "namespace", namespace: id, name: id, labels: {}, pod_count: pods, workload_count: 1 });
const wl = (ns, name) => ({ id: `${ns}/Deployment/${name}`, kind: "workload", namespace: ns, name, labels: {}, pods: [`${ns}/${name}-0`] });
const link = (source, target, text) => ({ source, target, all: false, ports: [tcp(80)], text });
const namespaceGraph = {
  level: "namespace",
  nodes: [nsNode("a", 3), nsNode("b", 40), nsNode("c", 1)],
  edges: [link("a", "b", "TCP 80"), link("b", "c", "TCP 81"), link("a", "a", "TCP 82")],
};

test("a namespace opens into its workloads in place of its node", () => {
  assert.deepEqual(composeGraph(namespaceGraph, null).edges.map((e) => e.text), ["TCP 80", "TCP 81"], "A -> A is not drawn");
  const slice = {
    level: "workload",
    namespaces: ["a"],
    nodes: [wl("a", "x"), wl("a", "y"), nsNode("b", 40)],
    edges: [link("a/Deployment/x", "b", "TCP 80"), link("a/Deployment/y", "a/Deployment/x", "TCP 82")],
  };
  const graph = composeGraph(namespaceGraph, slice);
  assert.deepEqual(graph.nodes.map((n) => n.id), ["a/Deployment/x", "a/Deployment/y", "b", "c"]);
  assert.deepEqual(
    graph.edges.map((e) => [e.source, e.target]),
    [["a/Deployment/x", "b"], ["a/Deployment/y", "a/Deployment/x"], ["b", "c"]],
  );
});

test("names sort naturally", () => {
  assert.deepEqual(["ns-10", "ns-2", "ns-1", "a"].sort(naturalCompare), ["a", "ns-1", "ns-2", "ns-10"]);
});

test("packed namespace boxes never overlap, open or closed", () => {
  const nodes = [];
  for (let i = 0; i < 100; i++) nodes.push(nsNode(`team-${i}`, (i * 37) % 300));
  const base = { level: "namespace", nodes, edges: [] };
  const members = [];
  for (let i = 0; i < 60; i++) members.push(wl("team-7", `app-${i}`));
  const slice = { level: "workload", namespaces: ["team-7"], nodes: members, edges: [] };
  const state = { ...stateFromParams(new URLSearchParams("")), open: ["team-7"] };
  const view = granularView(composeGraph(base, slice), null, state);
  const { elements } = elementsFor(view, applyFilters(view, state, {}), state, { collapsed: true, exposed: new Set(), podCounts: new Map() });
  const { positions, boxes } = packedLayout(elements);
  const all = [...boxes.values()];
  assert.equal(all.length, 100);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [p, q] = [all[i], all[j]];
      assert.ok(p.x2 <= q.x1 || q.x2 <= p.x1 || p.y2 <= q.y1 || q.y2 <= p.y1, `boxes ${i} and ${j} overlap`);
    }
  }
  const open = boxes.get("ns:team-7");
  for (const member of members) {
    const at = positions.get(member.id);
    assert.ok(open.x1 < at.x && at.x < open.x2 && open.y1 < at.y && at.y < open.y2, `${member.id} is in its box`);
  }
  const spots = new Set(members.map((m) => `${positions.get(m.id).x},${positions.get(m.id).y}`));
  assert.equal(spots.size, members.length, "no two workloads on one spot");
});
