/* Beds and seats: the − and + buttons beside each count. The forms are plain forms that work
 * without this; it only saves typing on a phone. */
"use strict";
(function () {
  for (const button of document.querySelectorAll(".stepper button[data-step]")) {
    button.addEventListener("click", () => {
      const input = button.parentElement.querySelector("input");
      const form = button.closest("form");
      const capacity = Number(form.querySelector("[name=capacity]").value) || Infinity;
      const now = Number(input.value) || 0;
      input.value = String(Math.min(capacity, Math.max(0, now + Number(button.dataset.step))));
      Vigil.announce(`${input.value} free`);
    });
  }
})();
