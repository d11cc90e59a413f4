// API Keys page: the Copy button and the live "N of M packages selected" line.
// The page works without this file; it only adds convenience.

import "./copy.js";

// Same rules as apikeys/globs.py: "*" is the only wildcard, the whole id must
// match, ASCII case is ignored, and no regular expression (no backtracking).
const lowerAscii = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

export function globMatches(pattern, packageId) {
  const pat = lowerAscii(pattern);
  const text = lowerAscii(packageId);
  if (!pat.includes("*")) return pat === text;
  const parts = pat.split("*");
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (first.length + last.length > text.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  let pos = first.length;
  const end = text.length - last.length;
  for (const segment of parts.slice(1, -1)) {
    if (!segment) continue;
    const found = text.slice(0, end).indexOf(segment, pos);
    if (found < 0) return false;
    pos = found + segment.length;
  }
  return true;
}

// The create form lists the packages of every possible owner; only the chosen
// owner's are shown (the server refuses another owner's packages anyway).
function setUpOwnerChoice(form) {
  const select = form.querySelector("[data-owner-select]");
  const groups = [...form.querySelectorAll("[data-owner-packages]")];
  if (!select || groups.length < 2) return;
  const show = () => {
    for (const group of groups) {
      const chosen = group.dataset.ownerPackages === select.value;
      group.hidden = !chosen;
      if (!chosen) group.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = false; });
      const title = group.querySelector(".owner-packages-title");
      if (title) title.hidden = true;
    }
    form.dispatchEvent(new Event("owner-changed"));
  };
  select.addEventListener("change", show);
  show();
}

function setUpPreview(form) {
  const patterns = form.querySelector("textarea");
  const count = form.querySelector("[data-selection-count]");
  if (!patterns || !count) return;
  const update = () => {
    const boxes = [...form.querySelectorAll("input[type=checkbox][data-package-id]")].filter(
      (box) => !box.closest("[hidden]"),
    );
    const visibleCount = form.querySelector("[data-owner-packages]:not([hidden]) [data-selection-count]") || count;
    const list = patterns.value.split(/[\r\n,]+/).map((p) => p.trim()).filter(Boolean);
    let selected = 0;
    for (const box of boxes) {
      const matched = list.some((p) => globMatches(p, box.dataset.packageId));
      box.closest("li").classList.toggle("matched", matched);
      if (matched || box.checked) selected += 1;
    }
    visibleCount.textContent = visibleCount.dataset.template
      .replace("%(selected)s", String(selected))
      .replace("%(total)s", String(boxes.length));
  };
  patterns.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("owner-changed", update);
  update();
}

document.querySelectorAll("form[data-glob-preview]").forEach((form) => {
  setUpOwnerChoice(form);
  setUpPreview(form);
});
