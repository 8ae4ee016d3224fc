// The graph page's side panel: the details of the selected node (labels, the policies that select
// it, its ingress and egress neighbours with ports), namespace box or edge (its ports and the
// explanation of one of them, with a port picker).
import { OUTSIDE, endpointText, nodeQualifiedName, nodeTitle, portChoices, portsText } from "./graph-model.js";
import { el, fetchJSON, renderExplanationSummary } from "./common.js";

// `graph` reads the page's live state: {cy, current (the view on screen), state (the URL's view),
// data (GraphData)}. `actions` are the page's moves: jumpTo(id), togglePods(workloadId, open),
// toggleNamespace(namespace, open).
export function createSidePanel({ config, page, body, titleBox, graph, actions }) {
  const nodeIndex = graph.data.nodeIndex;

  // Opening or closing the panel changes the drawing's width: keep the same point in the middle.
  function resizeKeepingCentre() {
    const { cy } = graph;
    const before = cy.width();
    cy.resize();
    cy.panBy({ x: (cy.width() - before) / 2, y: 0 });
  }

  function openPanel(title, children) {
    const wasClosed = page.classList.contains("panel-closed");
    page.classList.remove("panel-closed");
    titleBox.textContent = title;
    body.replaceChildren(...children);
    if (wasClosed) resizeKeepingCentre();
  }

  function closePanel() {
    const wasOpen = !page.classList.contains("panel-closed");
    page.classList.add("panel-closed");
    if (graph.cy) {
      graph.cy.elements(":selected").unselect();
      if (wasOpen) resizeKeepingCentre();
    }
  }

  function nodeLink(id) {
    const node = nodeIndex.get(id);
    const text = node ? nodeQualifiedName(node) : id;
    const button = el("button", { type: "button", class: "link" }, text);
    button.addEventListener("click", () => actions.jumpTo(id));
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
  // Calico runs them (tier by tier, then by order). A node names its policies by key (the engine's
  // "NetworkPolicy/shop/web"); config.policy_details and config.policy_urls are keyed the same way.
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
    return entries.map(([key, which]) => {
      const info = details[key] || {};
      const url = info.url || config.policy_urls[key];
      const name = info.name || key;
      const link = url ? el("a", { href: url, "data-policy-key": key }, name) : el("span", {}, name);
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
    const node = graph.current.view.nodes.find((n) => n.id === id) || nodeIndex.get(id);
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
    if (graph.current.exposed.has(id)) marks.push(el("span", {}, [markIcon("globe"), "Reachable from outside the cluster."]));
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
    if (node.kind === "workload" && graph.data.graphs.workload) {
      const pods = node.pods || [];
      const button = el("button", { type: "button", class: "secondary small" }, `Show its ${count(pods.length, "pod", "pods")}`);
      button.addEventListener("click", () => actions.togglePods(id, true));
      children.push(el("p", {}, button));
    }
    if (node.kind === "pod" && node.workload && graph.state.pods.includes(node.workload)) {
      const button = el("button", { type: "button", class: "secondary small" }, "Fold pods into their workload");
      button.addEventListener("click", () => actions.togglePods(node.workload, false));
      children.push(el("p", {}, button));
    }
    const incoming = graph.current.view.edges.filter((e) => e.target === id);
    const outgoing = graph.current.view.edges.filter((e) => e.source === id);
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
    const members = graph.current.view.nodes.filter((n) => (n.namespace || OUTSIDE) === namespace);
    const title = namespace === OUTSIDE ? "outside cluster" : `namespace ${namespace}`;
    const whole = members.length === 1 && members[0].kind === "namespace" ? members[0] : null;
    const children = [
      whole
        ? el("p", {}, `${count(whole.pod_count || 0, "pod", "pods")} in ${count(whole.workload_count || 0, "workload", "workloads")}.`)
        : el("p", {}, `${count(members.length, graph.state.level === "pod" ? "pod" : "node", graph.state.level === "pod" ? "pods" : "nodes")} in this box.`),
    ];
    if (element.hasClass("collapsed")) {
      const open = el("button", { type: "button" }, "Expand");
      open.addEventListener("click", () => actions.toggleNamespace(namespace, true));
      children.push(el("p", {}, open));
    } else if (graph.state.collapsed) {
      const close = el("button", { type: "button", class: "secondary" }, "Collapse");
      close.addEventListener("click", () => actions.toggleNamespace(namespace, false));
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
    const members = graph.current.filtered.edges.filter(
      (e) => (graph.current.drawn.drawnAs.get(e.source) === source) && (graph.current.drawn.drawnAs.get(e.target) === target),
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

  return { open: openPanel, close: closePanel, showNode, showNamespace, showEdge };
}
