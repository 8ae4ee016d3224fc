// Two changes to how cytoscape's canvas renderer works, so that dragging and clicking stay quick
// with a thousand edges on screen (a large cluster at namespace level with a namespace open).
//
// 1. Dragging a node redraws only what moves: the dragged node (with what is inside it) and the
//    edges that touch it. Cytoscape draws on two canvases, a still layer and a drag layer. Left
//    alone, dragging a node inside a box (an open namespace) puts the whole box, every node in it
//    and every edge of those nodes on the drag layer (hundreds of edges that do not move), and each
//    move's position and bounds notifications mark the still layer dirty too, though nothing on it
//    moved: a full redraw per mouse move. Here the drag layer keeps only the grabbed nodes and their
//    edges, and a move leaves the still layer alone. The box around the dragged node stays on the
//    still layer and takes its new size when the node is dropped (cytoscape redraws everything then).
// 2. Finding what is under the mouse looks only at the elements whose bounding box is near it.
//    Cytoscape tests every edge's curve, arrows and labels on each mouse move, press and release;
//    the boxes are kept until something changes (a move, a style, an element added or removed).
//
// Both reach into the renderer of cytoscape 3.35 (pinned in package.json); if those internals are
// not there, nothing is changed and cytoscape works as it always does.

export function speedUpRenderer(cy) {
  const renderer = typeof cy.renderer === "function" ? cy.renderer() : null;
  const usable =
    renderer &&
    typeof renderer.notify === "function" &&
    typeof renderer.updateCachedGrabbedEles === "function" &&
    typeof renderer.getCachedZSortedEles === "function" &&
    typeof renderer.findNearestElements === "function" &&
    renderer.data &&
    Array.isArray(renderer.data.canvasNeedsRedraw) &&
    typeof renderer.NODE === "number" &&
    renderer.hoverData;
  if (!usable) return false;
  const boxes = nearbyHitTesting(renderer);
  redrawOnlyWhatMoves(cy, renderer, boxes);
  return true;
}

function redrawOnlyWhatMoves(cy, renderer, boxes) {
  let narrowed = false;
  cy.on("drag", "node", () => {
    if (narrowed) return;
    narrowed = true;
    const grabbed = cy.nodes().filter((node) => node.grabbed());
    const moving = new Set(grabbed.union(grabbed.connectedEdges()).map((ele) => ele.id()));
    cy.elements().forEach((ele) => {
      const scratch = ele[0]._private.rscratch;
      if (scratch.inDragLayer && !moving.has(ele.id())) scratch.inDragLayer = false;
    });
    renderer.updateCachedGrabbedEles();
  });
  cy.on("free", "node", () => {
    narrowed = false; // cytoscape puts everything back on the still layer and redraws it
  });
  const notify = renderer.notify;
  renderer.notify = function notifyKeepingStillLayer(eventName, eles) {
    if (eventName !== "viewport") boxes.forget();
    const still = this.hoverData.draggingEles && (eventName === "position" || eventName === "bounds");
    const before = this.data.canvasNeedsRedraw[this.NODE];
    notify.call(this, eventName, eles);
    if (still) this.data.canvasNeedsRedraw[this.NODE] = before;
  };
}

// Model-space bounding boxes of the drawn elements, in cytoscape's drawing order, kept until the
// renderer hears of a change. A hit test then hands cytoscape only the elements near the point.
function nearbyHitTesting(renderer) {
  let kept = null; // {sorted, entries: [{ele, interactive, x1, y1, x2, y2}]}
  const zSorted = renderer.getCachedZSortedEles;
  const ownZSorted = Object.prototype.hasOwnProperty.call(renderer, "getCachedZSortedEles");
  const find = renderer.findNearestElements;

  function entries() {
    const sorted = zSorted.call(renderer);
    if (!kept || kept.sorted !== sorted) {
      const interactive = new Set(sorted.interactive || sorted);
      kept = {
        sorted,
        entries: sorted.map((ele) => {
          const box = ele.boundingBox();
          return { ele, interactive: interactive.has(ele), x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 };
        }),
      };
    }
    return kept.entries;
  }

  renderer.findNearestElements = function findNearby(x, y, interactiveElementsOnly, isTouch) {
    // Cytoscape's own reach: 8 px (24 by touch) around an edge, 2 px around nodes and labels.
    const pad = (isTouch ? 26 : 10) / this.cy.zoom() + 1;
    const near = entries().filter((e) => x >= e.x1 - pad && x <= e.x2 + pad && y >= e.y1 - pad && y <= e.y2 + pad);
    const subset = near.map((e) => e.ele);
    subset.interactive = near.filter((e) => e.interactive).map((e) => e.ele);
    this.getCachedZSortedEles = () => subset;
    try {
      return find.call(this, x, y, interactiveElementsOnly, isTouch);
    } finally {
      if (ownZSorted) this.getCachedZSortedEles = zSorted;
      else delete this.getCachedZSortedEles; // back to the prototype's
    }
  };
  return {
    forget() {
      kept = null;
    },
  };
}
