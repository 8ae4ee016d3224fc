// What the graph page fetched from the API, and an index of every node it has seen. A small graph
// is fetched whole, level by level. A large one opens at namespace level: the page holds the
// namespace graph and, for the namespaces someone opened, the API's slice of their workloads (or
// pods), composed into one graph (graph-model.js composeGraph).
import { OUTSIDE, composeGraph } from "./graph-model.js";
import { fetchJSON } from "./common.js";

export class GraphData {
  constructor(url, { namespaceFirst }) {
    this.url = url;
    this.namespaceFirst = namespaceFirst;
    this.graphs = { workload: null, pod: null, namespace: null };
    this.composedFor = { workload: null, pod: null }; // the open namespaces each composed graph holds
    this.nodeIndex = new Map(); // every node id of every level -> node
  }

  // The graph of one level, fetched once (namespace first: composed for the open namespaces of `state`).
  async load(level, state) {
    if (this.namespaceFirst) return this.loadComposed(level, state);
    if (!this.graphs[level]) {
      this.graphs[level] = await fetchJSON(`${this.url}?level=${level}`);
      this.index(this.graphs[level]);
    }
    return this.graphs[level];
  }

  // What the view needs loaded: the workload graph, and the pod graph when pods are shown.
  async loadForView(state) {
    await this.load("workload", state);
    if (state.level === "pod" || state.pods.length) await this.load("pod", state);
  }

  index(graph) {
    for (const node of graph.nodes) this.nodeIndex.set(node.id, node);
  }

  async loadComposed(level, state) {
    if (!this.graphs.namespace) {
      this.graphs.namespace = await fetchJSON(`${this.url}?level=namespace`);
      this.index(this.graphs.namespace);
    }
    const names = state.open.filter((name) => name !== OUTSIDE).sort();
    const key = names.join(",");
    if (this.composedFor[level] !== key || !this.graphs[level]) {
      const query = new URLSearchParams({ level, namespace: key });
      const slice = names.length ? await fetchJSON(`${this.url}?${query}`) : null;
      this.graphs[level] = composeGraph(this.graphs.namespace, slice);
      this.composedFor[level] = key;
      this.index(this.graphs[level]);
    }
    return this.graphs[level];
  }

  // Workload id -> how many pods it has (the label of a workload drawn alone).
  podCounts() {
    const counts = new Map();
    for (const node of this.graphs.workload.nodes) {
      if (node.kind === "workload") counts.set(node.id, (node.pods || []).length);
    }
    return counts;
  }
}
