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
// 3. A click on a node leaves the still layer alone. Cytoscape redraws every element when a node is
//    pressed (it moves the node, its box and all their edges to the drag layer), when it changes
//    state (active while pressed, selected) and when it is released. Here a press keeps everything
//    on the still layer but the node itself (drawn again on the drag layer, the same look, over its
//    still copy); only once the mouse really drags does the node and its edges move there. The
//    selection of a node is not a look of the node on the canvas but a ring over it (an element
//    over the canvas, `.selection-ring`), so selecting one changes nothing on the still layer. The
//    still layer is redrawn as before for anything that changes it: the view (pan, zoom, resize),
//    elements added or removed, a node moved, an edge selected (its look is on the canvas).
//
// All three reach into the renderer of cytoscape 3.35 (pinned in package.json); if those internals are
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
  const click = quietClicks(cy, renderer);
  redrawOnlyWhatMoves(cy, renderer, boxes, click);
  selectionRing(cy);
  return true;
}

// While a mouse button is pressed on the drawing and nothing has moved yet, the still layer's
// redraw requests are held back; anything that changes the still layer ends the hold and redraws it.
function quietClicks(cy, renderer) {
  let holding = false;
  let settling = false; // released: cytoscape works out the new state's style on the next frame
  const redrawHint = renderer.redrawHint;
  renderer.redrawHint = function redrawHintHeld(group, value) {
    if (holding && group === "eles" && value) return;
    redrawHint.call(this, group, value);
  };
  // Before cytoscape's own handler (capture) and after its release handler (registered later).
  renderer.container.addEventListener("mousedown", () => { holding = true; }, true);
  window.addEventListener("mouseup", () => {
    if (holding) settling = true;
    holding = false;
  });
  cy.on("render", () => { settling = false; });
  return {
    get holding() {
      return holding;
    },
    get settling() {
      return settling;
    },
    release() {
      holding = false;
      settling = false;
      renderer.data.canvasNeedsRedraw[renderer.NODE] = true;
    },
  };
}

function redrawOnlyWhatMoves(cy, renderer, boxes, click) {
  let narrowed = false;
  // A press: only the pressed node on the drag layer (drawn over its unchanged still copy).
  cy.on("grab", "node", () => {
    if (!click.holding) return;
    cy.elements().forEach((ele) => {
      ele[0]._private.rscratch.inDragLayer = false;
    });
    renderer.updateCachedGrabbedEles();
  });
  cy.on("drag", "node", () => {
    if (narrowed) return;
    narrowed = true;
    const grabbed = cy.nodes().filter((node) => node.grabbed());
    const moving = new Set(grabbed.union(grabbed.connectedEdges()).map((ele) => ele.id()));
    cy.elements().forEach((ele) => {
      ele[0]._private.rscratch.inDragLayer = moving.has(ele.id());
    });
    renderer.updateCachedGrabbedEles();
    click.release(); // the still layer is drawn once more, without what now moves
  });
  cy.on("free", "node", () => {
    narrowed = false; // cytoscape puts everything back on the still layer and redraws it
  });
  const notify = renderer.notify;
  renderer.notify = function notifyKeepingStillLayer(eventName, eles) {
    if (eventName !== "viewport") boxes.forget();
    // A node's state (active, selected) has no look on the still layer (an edge's has); cytoscape
    // tells of it as a change of style and of the bounds of the boxes around the node.
    const stateOnly = (eventName === "style" || eventName === "bounds") && eles && eles.every((ele) => ele.isNode());
    const quiet = click.holding || click.settling;
    if (quiet && !stateOnly && eventName !== "resize") click.release();
    const still = this.hoverData.draggingEles && (eventName === "position" || eventName === "bounds");
    const before = this.data.canvasNeedsRedraw[this.NODE];
    const size = [this.canvasWidth, this.canvasHeight];
    notify.call(this, eventName, eles);
    // A resize to the size the canvases already have (the page resized the drawing itself when the
    // side panel opened, and the container's resize observer tells of it again) clears nothing.
    const sameSize = eventName === "resize" && size[0] === this.canvasWidth && size[1] === this.canvasHeight;
    // Nor does a box's new bounds on its own: what changed them (a move, a style) is told apart, and
    // cytoscape tells of the bounds again whenever it works them out anew (a hit test, a frame).
    const boundsOnly = eventName === "bounds" && eles && eles.every((ele) => ele.isNode());
    if (quiet && eventName === "resize" && !sameSize) click.release();
    if (still || boundsOnly || sameSize || (quiet && stateOnly)) this.data.canvasNeedsRedraw[this.NODE] = before;
  };
}

// The selected node's ring: an element over the canvas that follows the node on every frame drawn.
function selectionRing(cy) {
  const ring = document.createElement("div");
  ring.className = "selection-ring";
  ring.hidden = true;
  cy.container().append(ring);
  const place = () => {
    const node = cy.nodes(":selected");
    if (node.empty()) {
      ring.hidden = true;
      return;
    }
    const box = node.renderedBoundingBox({ includeLabels: false, includeOverlays: false });
    Object.assign(ring.style, {
      left: `${box.x1 - 3}px`,
      top: `${box.y1 - 3}px`,
      width: `${box.w + 6}px`,
      height: `${box.h + 6}px`,
    });
    ring.hidden = false;
  };
  cy.on("render select unselect", place);
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
