// The upload form: dropping files on the zone adds them to the file input (which the form
// submits as usual), and the chosen files are listed with their sizes.
import { el } from "./common.js";

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

for (const zone of document.querySelectorAll("[data-dropzone]")) {
  const input = zone.querySelector("input[type=file]");
  const list = zone.querySelector("[data-file-list]");
  const show = () => {
    list.replaceChildren(...[...input.files].map((f) => el("li", {}, `${f.name} (${sizeText(f.size)})`)));
  };
  input.addEventListener("change", show);
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragover");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragover"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    // Add to what was already chosen rather than replace it.
    const transfer = new DataTransfer();
    for (const file of input.files) transfer.items.add(file);
    for (const file of event.dataTransfer.files) transfer.items.add(file);
    input.files = transfer.files;
    show();
  });
}

// After an error in the pasted text, put the cursor on the offending line.
const marked = document.querySelector("[data-error-line] textarea");
if (marked) {
  const line = Number(marked.parentElement.dataset.errorLine);
  const lines = marked.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  marked.focus();
  marked.setSelectionRange(start, start + (lines[line - 1] || "").length);
  const height = marked.scrollHeight / Math.max(lines.length, 1);
  marked.scrollTop = Math.max(0, (line - 3) * height);
}
