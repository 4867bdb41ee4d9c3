/* The tip form. Small files go in the tip's own request; large ones first, as resumable
 * (tus 1.0) uploads sent in pieces: when a piece fails, the hub is asked where the upload
 * stands (HEAD) and sending resumes from that byte. Nothing is sent with the browser's
 * cookies. Without scripts the form posts itself to the API as it is. */
"use strict";
(function () {
  const TUS = { "Tus-Resumable": "1.0.0" };
  const RETRIES = 8;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  class Refused extends Error {
    constructor(status, body) {
      super((body && body.detail) || `the hub refused it (${status})`);
      this.fields = (body && body.fields) || {};
    }
  }

  async function refusal(response) {
    let body = null;
    try { body = await response.json(); } catch (ignored) { /* not JSON */ }
    return new Refused(response.status, body);
  }

  async function create(file) {
    const name = btoa(String.fromCharCode(...new TextEncoder().encode(file.name)));
    const response = await fetch("/api/v1/tips/uploads", {
      method: "POST", credentials: "omit",
      headers: { ...TUS, "Upload-Length": String(file.size), "Upload-Metadata": `filename ${name}` },
    });
    if (response.status !== 201) throw await refusal(response);
    return response.headers.get("Location");
  }

  async function where(url) {
    const response = await fetch(url, { method: "HEAD", headers: TUS, credentials: "omit" });
    if (response.status === 404) throw new Refused(404, { detail: "the upload was lost; please send the tip again" });
    if (!response.ok) throw new Error(`HEAD ${response.status}`);
    return Number(response.headers.get("Upload-Offset"));
  }

  /* Send one file as a tus upload in pieces of `chunk` bytes; returns the upload's URL. */
  async function upload(file, chunk, progress) {
    const url = await create(file);
    let at = 0;
    let failures = 0;
    while (at < file.size) {
      try {
        const response = await fetch(url, {
          method: "PATCH", credentials: "omit",
          headers: { ...TUS, "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" },
          body: file.slice(at, Math.min(at + chunk, file.size)),
        });
        if (response.status === 204) {
          at = Number(response.headers.get("Upload-Offset"));
          failures = 0;
          progress(at);
          continue;
        }
        if (response.status !== 409 && response.status < 500) throw await refusal(response);
      } catch (error) {
        if (error instanceof Refused) throw error;  // refused for good: no retry
      }
      // The piece did not get through (or only part of it): ask where the upload stands.
      for (;;) {
        failures += 1;
        if (failures > RETRIES) throw new Error("the connection keeps failing; please try again later");
        progress(at, "connection lost: resuming");
        await sleep(Math.min(15000, 250 * 2 ** failures));
        try { at = await where(url); break; } catch (error) { if (error instanceof Refused) throw error; }
      }
      progress(at);
    }
    return url;
  }

  function size(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
  }

  function receipt(data) {
    const panel = document.getElementById("tip-receipt");
    panel.querySelector("[data-receipt]").textContent = data.receipt;
    const table = panel.querySelector("[data-receipt-files]");
    const rows = table.querySelector("tbody");
    for (const file of data.files) {
      rows.append(Vigil.el("tr", {}, Vigil.el("td", { text: file.name || "(unnamed)" }),
        Vigil.el("td", { text: size(file.size) }),
        Vigil.el("td", {}, Vigil.el("code", { class: "hash", text: file.sha256 }))));
    }
    table.hidden = data.files.length === 0;
    panel.hidden = false;
    panel.focus();
  }

  function form(node) {
    const above = Number(node.dataset.tusAbove);
    const chunk = Number(node.dataset.chunk);
    const most = Number(node.dataset.maxBytes);
    const summary = node.querySelector("[data-tip-error]");
    const list = node.querySelector("[data-tip-progress]");
    const button = node.querySelector("button[type=submit]");
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      summary.hidden = true;
      list.replaceChildren();
      const files = [...node.querySelector("input[type=file]").files];
      const big = files.find((file) => file.size > most);
      if (big) {
        Vigil.showErrors(node, new Refused(413, { detail: `${big.name} is larger than ${size(most)}.`,
          fields: { file: `must be at most ${size(most)}` } }), summary);
        return;
      }
      button.disabled = true;
      const body = new FormData();
      for (const name of ["text", "contact", "evidence_request"]) {
        const input = node.querySelector(`[name="${name}"]`);
        if (input && input.value.trim()) body.append(name, input.value);
      }
      try {
        for (const file of files) {
          if (file.size <= above) { body.append("file", file, file.name); continue; }
          const line = Vigil.el("li", { text: `${file.name}: starting` });
          list.append(line);
          const url = await upload(file, chunk, (at, note) => {
            line.textContent = `${file.name}: ${Math.floor((100 * at) / file.size)}% sent${note ? ` (${note})` : ""}`;
          });
          body.append("upload", url);
        }
        const response = await fetch("/api/v1/tips", { method: "POST", body, credentials: "omit" });
        if (response.status !== 201) throw await refusal(response);
        node.hidden = true;
        receipt(await response.json());
      } catch (error) {
        Vigil.showErrors(node, error instanceof Refused ? error : new Refused(0, { detail: error.message }), summary);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const node of document.querySelectorAll("[data-tip-form]")) form(node);
    for (const node of document.querySelectorAll("[data-tip-area]")) {
      const view = Vigil.map(node, { zoom: 15 });
      const layer = Vigil.areaLayer(JSON.parse(node.dataset.tipArea)).addTo(view);
      view.fitBounds(layer.getBounds(), { padding: [12, 12], animate: false });
    }
  });
})();
