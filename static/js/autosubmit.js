// A select that acts as soon as it changes: <select data-auto-submit> submits
// its form, and the form's [data-auto-submit-button] (the button that does the
// same without JavaScript) is hidden. Used by the owner filter on Manage
// packages and the role selects on an organization's page.

export function setUpAutoSubmit(select) {
  const form = select.form;
  form.querySelectorAll("[data-auto-submit-button]").forEach((button) => {
    button.hidden = true;
  });
  select.addEventListener("change", () => form.requestSubmit());
}

document.querySelectorAll("select[data-auto-submit]").forEach(setUpAutoSubmit);
