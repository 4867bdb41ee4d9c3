/* The police reports page: GET /api/v1/reports on a timer, markers and a list, review
 * buttons (PATCH /api/v1/reports/{id}). Text is never parsed as HTML. */
"use strict";
(function () {
  const { api, el, timeNode, map: makeMap, announce } = window.Vigil;
  const NEXT = { new: ["reviewed", "actioned"], reviewed: ["actioned", "new"], actioned: ["new"] };
  const LABEL = { new: "New", reviewed: "Reviewed", actioned: "Actioned" };

  document.addEventListener("DOMContentLoaded", () => {
    const node = document.getElementById("reports-map");
    const list = document.getElementById("reports-list");
    const status = document.getElementById("reports-status");
    const filter = document.getElementById("report-filter");
    const view = makeMap(node, { zoom: 14 });
    const markers = L.layerGroup().addTo(view);
    let shown = "";

    function item(report) {
      const moves = (NEXT[report.status] || []).map((next) => el("button", {
        type: "button", class: "secondary", onclick: () => review(report, next),
      }, `Mark ${LABEL[next].toLowerCase()}`));
      const files = report.files.map((file, n) => el("a", { href: file.url },
        `File ${n + 1} (${file.kind}, sha256 ${file.sha256.slice(0, 12)}…)`));
      return el("li", { class: "panel report", "data-report": report.id, "data-status": report.status },
        el("p", { class: "report-text" }, report.text || "(no text)"),
        el("p", { class: "hint" }, `${LABEL[report.status] || report.status} · ${report.tlp} · `,
          report.alert_id ? el("a", { href: `/alerts/${encodeURIComponent(report.alert_id)}` }, "on an alert")
            : "on no alert",
          " · seen ", timeNode(report.observed),
          report.reviewed_by ? ` · last marked by ${report.reviewed_by}` : ""),
        files.length ? el("p", {}, ...files.flatMap((a, n) => (n ? [" · ", a] : [a]))) : null,
        el("div", { class: "actions" }, ...moves));
    }

    async function review(report, next) {
      try {
        await api("PATCH", `/reports/${encodeURIComponent(report.id)}`, { status: next });
        announce(`Report marked ${LABEL[next].toLowerCase()}.`);
        await refresh();
      } catch (error) {
        status.textContent = error.message;
      }
    }

    async function refresh() {
      const query = filter.value ? `?status=${encodeURIComponent(filter.value)}` : "";
      try {
        const reports = await api("GET", `/reports${query}`);
        list.replaceChildren(...reports.map(item));
        markers.clearLayers();
        for (const report of reports) {
          L.circleMarker([report.lat, report.lon], { radius: 8, weight: 2 })
            .bindTooltip(el("span", { text: report.text || "(no text)" }))  // never as HTML
            .addTo(markers);
        }
        const key = reports.map((r) => `${r.id}:${r.status}`).join();
        status.textContent = `${reports.length} report${reports.length === 1 ? "" : "s"}` +
          `, updated ${new Date().toLocaleTimeString()}.`;
        if (key !== shown && reports.length) {
          view.fitBounds(L.latLngBounds(reports.map((r) => [r.lat, r.lon])).pad(0.3), { maxZoom: 16 });
        }
        shown = key;
      } catch (error) {
        status.textContent = `Could not refresh (${error.message}); showing the last answer.`;
      }
    }

    filter.addEventListener("change", refresh);
    refresh();
    setInterval(refresh, Number(node.dataset.refreshS || 10) * 1000);
  });
})();
