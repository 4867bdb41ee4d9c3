/* Police tip pages: open and close appeals, set a tip's status. Plain calls to the API. */
"use strict";
(function () {
  function appealForm(form) {
    const summary = form.querySelector("[role=alert]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const name of ["title", "description", "starts", "ends"]) {
        const value = form.elements[name].value.trim();
        if (!value) continue;
        body[name] = name === "starts" || name === "ends" ? new Date(value).toISOString() : value;
      }
      try {
        const made = await Vigil.api("POST", "/evidence-requests", body);
        window.location.assign(`/evidence/${made.id}`);
      } catch (error) {
        Vigil.showErrors(form, error, summary);
      }
    });
  }

  function moderate(form) {
    const note = form.querySelector("[data-moderated]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const tip = await Vigil.api("PATCH", `/tips/${form.dataset.moderate}`,
          { status: form.elements.status.value });
        note.replaceChildren(`set to ${tip.status.replace("_", " ")} by ${tip.moderated_by} at `,
          Vigil.timeNode(tip.moderated));
        Vigil.announce("Status saved");
      } catch (error) {
        note.textContent = error.message;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("[data-appeal-form]")) appealForm(form);
    for (const form of document.querySelectorAll("[data-moderate]")) moderate(form);
    for (const button of document.querySelectorAll("[data-close-appeal]")) {
      button.addEventListener("click", async () => {
        const summary = document.querySelector("[data-page-error]");
        try {
          await Vigil.api("POST", `/evidence-requests/${button.dataset.closeAppeal}/close`);
          window.location.reload();
        } catch (error) {
          summary.textContent = error.message;
          summary.hidden = false;
        }
      });
    }
  });
})();
