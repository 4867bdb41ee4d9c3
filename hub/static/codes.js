/* The recovery codes page: copy the codes, or download them as a text file. */
"use strict";
(function () {
  const list = document.getElementById("recovery-codes");
  const actions = document.querySelector("[data-codes-actions]");
  const status = document.getElementById("codes-status");
  if (!list || !actions) return;
  const text = () => [...list.querySelectorAll("code")].map((code) => code.textContent).join("\n")
    + "\n";
  actions.hidden = false;
  actions.querySelector("[data-copy-codes]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      status.textContent = "Copied the codes. Paste them somewhere safe.";
    } catch (error) {
      window.getSelection().selectAllChildren(list);
      status.textContent = "Your browser did not let the page copy: the codes are selected, copy them yourself.";
    }
  });
  actions.querySelector("[data-download-codes]").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([
      `Vigil recovery codes (each works once)\n\n${text()}`], { type: "text/plain" }));
    link.download = "vigil-recovery-codes.txt";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    status.textContent = "Downloaded vigil-recovery-codes.txt.";
  });
})();
