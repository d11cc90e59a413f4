// API Keys page: live glob preview, scope choices, Edit loaded in place, Cancel,
// and the new key (masked, Show, dropped after inactivity).
// The page works without this file (no inline script: CSP); it only adds convenience.

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

// As on nuget.org: a package the patterns match is shown ticked and greyed (the
// pattern covers it); it comes back as the person left it when it no longer matches.
function setUpPreview(form) {
  const patterns = form.querySelector("textarea");
  if (!patterns) return;
  const update = () => {
    const list = patterns.value.split(/[\r\n,]+/).map((p) => p.trim()).filter(Boolean);
    for (const picker of form.querySelectorAll(".package-picker")) {
      const boxes = [...picker.querySelectorAll("input[type=checkbox][data-package-id]")];
      let selected = 0;
      for (const box of boxes) {
        const matched = list.some((p) => globMatches(p, box.dataset.packageId));
        if (matched && !box.disabled) {
          box.dataset.chosen = box.checked ? "1" : "";
          box.checked = true;
          box.disabled = true;
        } else if (!matched && box.disabled) {
          box.checked = box.dataset.chosen === "1";
          box.disabled = false;
        }
        box.closest("li").classList.toggle("matched", matched);
        if (box.checked) selected += 1;
      }
      const count = picker.querySelector("[data-selection-count]");
      if (count) {
        count.textContent = count.dataset.template
          .replace("%(selected)s", String(selected))
          .replace("%(total)s", String(boxes.length));
      }
    }
  };
  patterns.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("owner-changed", update);
  update();
}

// Push's two choices apply only while Push is ticked; packages only once a scope is.
function setUpScopes(form) {
  const scopes = form.querySelector("[data-scopes]");
  const packages = form.querySelector("[data-packages-section]");
  if (!scopes || !packages) return;
  const push = scopes.querySelector("input[type=checkbox]");
  const choices = form.querySelector("[data-push-choices]");
  const note = packages.querySelector("[data-no-scope-note]");
  const update = () => {
    choices.querySelectorAll("input").forEach((radio) => { radio.disabled = !push.checked; });
    choices.classList.toggle("disabled", !push.checked);
    const anyScope = [...scopes.querySelectorAll("input[type=checkbox]")].some((box) => box.checked);
    packages.disabled = !anyScope;
    note.hidden = anyScope;
  };
  scopes.addEventListener("change", update);
  update();
}

function setUpForm(form) {
  setUpOwnerChoice(form);
  setUpScopes(form);
  setUpPreview(form);
}

// Cancel inside a disclosure closes it and puts the form back as it was.
function setUpCancel(root) {
  root.querySelectorAll("[data-cancel]").forEach((link) => {
    const details = link.closest("details");
    if (!details) return;
    link.setAttribute("role", "button");
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const form = link.closest("form");
      if (form) {
        form.reset();
        form.dispatchEvent(new Event("change"));
      }
      details.open = false;
      details.querySelector("summary").focus();
    });
  });
}

// Edit loads its form in place when clicked: fifty keys do not repeat the
// package list. Without JavaScript the link opens the form on its own page.
function setUpEdit(link) {
  let panel = null;
  link.setAttribute("aria-expanded", "false");
  link.setAttribute("role", "button");
  const close = () => {
    panel.remove();
    panel = null;
    link.setAttribute("aria-expanded", "false");
    link.focus();
  };
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    if (panel) return close();
    try {
      const response = await fetch(link.href, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const form = doc.querySelector("form[data-edit-form]");
      if (!form) throw new Error("no form");
      panel = document.createElement("div");
      panel.className = "action-body edit-body";
      panel.append(document.importNode(form, true));
      link.closest(".key-actions").after(panel);
      link.setAttribute("aria-expanded", "true");
      const added = panel.querySelector("form");
      setUpForm(added);
      const cancelLink = added.querySelector("[data-cancel]");
      cancelLink.setAttribute("role", "button");
      cancelLink.addEventListener("click", (cancel) => {
        cancel.preventDefault();
        close();
      });
      added.querySelector("textarea").focus();
    } catch {
      window.location.assign(link.href); // the edit page does the same without the list
    }
  });
}

// The new key: masked once the page can show it on demand, and dropped after
// a while without activity, as nuget.org's page does.
function setUpNewKey(panel) {
  const input = panel.querySelector("[data-secret]");
  const reveal = panel.querySelector("[data-reveal]");
  const copy = panel.querySelector("[data-copy]");
  const setShown = (shown) => {
    input.type = shown ? "text" : "password";
    reveal.textContent = shown ? reveal.dataset.hideText : reveal.dataset.showText;
    reveal.setAttribute("aria-pressed", String(shown));
  };
  setShown(false);
  reveal.hidden = false;
  reveal.addEventListener("click", () => setShown(input.type === "password"));
  // Without clipboard access the copy button selects the text for Ctrl+C,
  // which a password field refuses: show it first.
  copy.addEventListener("click", () => { if (!navigator.clipboard) setShown(true); }, true);

  const idle = Number(panel.dataset.idleSeconds) * 1000;
  let timer;
  const drop = () => {
    input.value = "";
    panel.querySelector("[data-new-key-body]").remove();
    panel.querySelector("[data-new-key-gone]").hidden = false;
    for (const type of activity) document.removeEventListener(type, restart, true);
  };
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(drop, idle);
  };
  const activity = ["pointerdown", "pointermove", "keydown", "scroll", "focusin"];
  for (const type of activity) document.addEventListener(type, restart, { capture: true, passive: true });
  restart();
}

document.querySelectorAll("form[data-glob-preview]").forEach(setUpForm);
document.querySelectorAll("a[data-edit-inline]").forEach(setUpEdit);
setUpCancel(document);
document.querySelectorAll("[data-new-key]").forEach(setUpNewKey);
