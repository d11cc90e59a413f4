// Copy buttons: <button data-copy="#target"> copies the target's text (a form
// field's value, or an element's text) and says so in the page's
// [data-copy-status] region. Pages work without this file; it only adds convenience.

function textOf(target) {
  return "value" in target ? target.value : target.textContent;
}

function select(target) {
  target.focus();
  if (typeof target.select === "function") {
    target.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(target);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

export function setUpCopy(button) {
  const target = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(textOf(target));
      status.textContent = status.dataset.copiedText;
    } catch {
      // No clipboard access (an old browser, or permission refused): select
      // the text so the keyboard shortcut copies it.
      select(target);
      status.textContent = status.dataset.selectText;
    }
  });
}

document.querySelectorAll("[data-copy]").forEach(setUpCopy);
