// The user menu is a <details> disclosure that works without JavaScript; this
// module adds what a menu button is expected to do: Escape closes it and puts
// the focus back on its button, and a click or the focus elsewhere closes it.
for (const menu of document.querySelectorAll("[data-user-menu]")) {
  const summary = menu.querySelector("summary");
  const close = (refocus) => {
    if (!menu.open) return;
    menu.open = false;
    if (refocus) summary.focus();
  };
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    }
  });
  document.addEventListener("click", (event) => {
    if (!menu.contains(event.target)) close(false);
  });
  menu.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !menu.contains(event.relatedTarget)) close(false);
  });
}
