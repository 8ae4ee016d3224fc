// Where the graph's nodes go. A namespace-first graph packs its boxes in a grid that never
// overlaps (graph-model.js packedLayout); a smaller graph runs fCoSE, seeded by its node ids so that
// the same input gives the same picture on every load.
import { packedLayout, seededRandom } from "./graph-model.js";

// fCoSE draws random numbers; seeding Math.random during the (synchronous) run makes the same
// graph give the same picture on every load.
export function runLayout(cy, elements, { packed }) {
  if (packed) {
    const { positions } = packedLayout(elements);
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
