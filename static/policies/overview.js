// The overview page: while the analysis runs, poll it and move the progress bar; when it
// finishes, reload so that the server renders the answers.
import { pollAnalysis } from "./common.js";

const box = document.getElementById("analysis");
const url = box && box.dataset.poll;
if (url && !["done", "failed"].includes(box.dataset.status)) {
  const bar = document.getElementById("analysis-progress");
  const percent = box.querySelector("[data-analysis-percent]");
  const status = box.querySelector("[data-analysis-status]");
  const message = box.querySelector("[data-analysis-message]");
  pollAnalysis(url, (analysis) => {
    const value = Math.round((analysis.progress || 0) * 100);
    if (bar) bar.value = value;
    if (percent) percent.textContent = String(value);
    if (status) status.textContent = analysis.status;
    if (message) message.textContent = analysis.progress_message || "";
  }).then(() => window.location.reload());
}
