// Small helpers shared by the pages' modules: building elements, calling the API, polling.

export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of Array.isArray(children) ? children : [children]) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export async function fetchJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && (body.detail || body.error || body.message);
    throw new Error(detail ? String(detail) : `${response.status} ${response.statusText}`);
  }
  return body;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls GET /api/analyses/{id}/ until the analysis is done or failed; calls onProgress each time.
export async function pollAnalysis(url, onProgress, { interval = 1000 } = {}) {
  for (;;) {
    const analysis = await fetchJSON(url);
    onProgress(analysis);
    if (analysis.status === "done" || analysis.status === "failed") return analysis;
    await sleep(interval);
  }
}

const DIRECTION_WHO = { Egress: "source", Ingress: "destination" };

// The short form of an explanation for the graph's side panel: the verdict sentence, then one
// line per direction naming the deciding policy and rule.
export function renderExplanationSummary(explanation, policyUrls) {
  const allowed = Boolean(explanation.allowed);
  const parts = [
    el("p", { class: `verdict ${allowed ? "allowed" : "denied"}` }, [
      el("span", { class: "mark", "aria-hidden": "true" }, allowed ? "✓" : "✗"),
      explanation.summary || (allowed ? "Allowed" : "Denied"),
    ]),
  ];
  const list = el("ul", { class: "plain" });
  for (const key of ["egress", "ingress"]) {
    const decision = explanation[key];
    if (!decision) continue;
    const who = DIRECTION_WHO[decision.direction] || key;
    const items = [el("strong", {}, `${decision.direction} of the ${who}: ${decision.verdict.toLowerCase()}`)];
    if (decision.deciding_policy) {
      // Policy pages are keyed by policy key; an explanation kept from before deciding_key names the
      // deciding policy by id only, and its trace carries the key.
      const trace = [...(decision.policies || [])].reverse().find((p) => p.id === decision.deciding_policy);
      const key = decision.deciding_key || (trace && trace.key);
      const url = policyUrls && key && policyUrls[key];
      const rule = decision.deciding_rule === null || decision.deciding_rule === undefined ? "" : `, rule ${decision.deciding_rule}`;
      items.push(" by ");
      items.push(url ? el("a", { href: url }, decision.deciding_policy) : decision.deciding_policy);
      items.push(rule);
      if (decision.deciding_tier) items.push(`, tier ${decision.deciding_tier}`);
    } else if (decision.deciding_tier) {
      items.push(` at the end of tier ${decision.deciding_tier}`);
    }
    if (decision.approximate) items.push(el("span", { class: "badge warning" }, "approximate"));
    items.push(el("div", { class: "small muted" }, decision.detail || ""));
    const n = (decision.policies || []).filter((p) => p.kind !== "Profile").length;
    items.push(el("div", { class: "small muted" }, `${n} ${n === 1 ? "policy selects" : "policies select"} the ${who}.`));
    list.append(el("li", {}, items));
  }
  parts.push(list);
  return parts;
}

// Buttons with data-copy-target="#id" copy that element's text (the page shows the text
// itself, so without JavaScript it can still be selected by hand).
export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("[data-copy-target]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.querySelector(button.dataset.copyTarget);
      const status = button.parentElement.querySelector(".copy-status");
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        if (status) status.textContent = "Copied.";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) status.textContent = "Selected: press Ctrl+C to copy.";
      }
    });
  }
}
