/* The publisher console: draw or pick the area, preview the reach, send the alert; or import
 * a CAP file. */
"use strict";
(function () {
  const { el } = window.Vigil;

  function capImport(importForm) {
    const input = document.getElementById("cap-file");
    const button = document.getElementById("cap-import-button");
    const box = document.getElementById("cap-import-error");
    const detail = document.getElementById("cap-import-detail");
    const list = document.getElementById("cap-violations");
    const limit = Number(importForm.dataset.maxBytes) || Infinity;

    function fail(message, violations) {
      detail.textContent = message;
      list.replaceChildren(...violations.map((v) => el("li", {},
        el("code", {}, v.path), `: ${v.message}`)));
      list.hidden = !violations.length;
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      box.focus();
    }

    importForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      box.hidden = true;
      input.removeAttribute("aria-invalid");
      const file = input.files && input.files[0];
      if (!file) { fail("Choose a CAP file first.", []); return; }
      if (file.size > limit) { fail(`a CAP document may be at most ${limit} bytes`, []); return; }
      button.disabled = true;
      try {
        const cap = new Blob([await file.arrayBuffer()], { type: "application/cap+xml" });
        const created = await window.Vigil.api("POST", "/cap", cap);
        window.Vigil.announce(created.withheld ? `Imported; it reaches nobody: ${created.withheld}.`
          : created.status === "pending" ? "Imported and submitted for approval." : "Imported and sent.");
        window.location.assign(`/alerts/${created.id}`);
      } catch (error) {
        const violations = (error.body && error.body.violations)
          || Object.entries(error.fields || {}).map(([path, message]) => ({ path, message }));
        fail(error.message, error.status === 422 ? violations : []);
        button.disabled = false;
      }
    });
  }

  const importForm = document.getElementById("cap-import-form");
  if (importForm) capImport(importForm);

  const form = document.getElementById("alert-form");
  if (!form) return; // approvers and admins see only the recent alerts
  const { api, map: makeMap, areaLayer, announce, showErrors } = window.Vigil;
  const summary = document.getElementById("area-summary");
  const reachBox = document.getElementById("reach");
  const formError = document.getElementById("form-error");
  const presetSelect = document.getElementById("preset");
  let area = null;
  let presets = [];
  let siteMarkers = null;  // every partner site, drawn once /sites answers

  /* The map with Leaflet.draw: one shape at a time, polygon or circle. */
  const view = makeMap(document.getElementById("map"));
  const drawn = new L.FeatureGroup().addTo(view);
  view.addControl(new L.Control.Draw({
    position: "topleft",
    draw: {
      polyline: false, rectangle: false, marker: false, circlemarker: false,
      polygon: { allowIntersection: false, showArea: false, shapeOptions: { color: "#b3261e" } },
      circle: { showRadius: true, metric: true, shapeOptions: { color: "#b3261e" } },
    },
    edit: { featureGroup: drawn },
  }));

  function describe(value) {
    if (!value) return "No area yet.";
    if (value.circle) {
      const c = value.circle;
      return `Circle of ${Math.round(c.radius_m)} m around ${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}.`;
    }
    const points = value.coordinates[0].length - 1;
    return `Polygon with ${points} corners.`;
  }

  function setArea(value, label) {
    area = value;
    if (siteMarkers) siteMarkers.bringToFront();  // the sites stay above the drawn area
    summary.textContent = label ? `${label}: ${describe(value)}` : describe(value);
    schedulePreview();
  }

  function fromLayer(layer) {
    if (layer instanceof L.Circle) {
      const centre = layer.getLatLng();
      return { circle: { lat: centre.lat, lon: centre.lng, radius_m: Math.round(layer.getRadius()) } };
    }
    return layer.toGeoJSON().geometry;
  }

  function show(value, label) {
    drawn.clearLayers();
    const layer = areaLayer(value);
    layer.eachLayer ? layer.eachLayer((part) => drawn.addLayer(part)) : drawn.addLayer(layer);
    view.fitBounds(drawn.getBounds(), { maxZoom: 17, padding: [20, 20] });
    setArea(value, label);
  }

  view.on(L.Draw.Event.CREATED, (event) => {
    drawn.clearLayers();
    drawn.addLayer(event.layer);
    leavePreset();
    setArea(fromLayer(event.layer));
  });
  view.on(L.Draw.Event.EDITED, () => {
    const layers = drawn.getLayers();
    if (layers.length) setArea(fromLayer(layers[0]));
  });
  view.on(L.Draw.Event.DELETED, () => setArea(drawn.getLayers().length ? fromLayer(drawn.getLayers()[0]) : null));

  /* Preset areas: each BIA's boundary, outlined on the map and offered in the list. */
  const outlines = L.layerGroup().addTo(view);
  api("GET", "/areas").then((rows) => {
    presets = rows;
    for (const [index, row] of rows.entries()) {
      presetSelect.append(el("option", { value: String(index) }, row.name));
      areaLayer(row.area, { color: "#5b3c88", weight: 1.5, dashArray: "5 4", fillOpacity: 0.03 })
        .bindTooltip(el("span", { text: row.name })).addTo(outlines);  // a text node, never HTML
    }
  }).catch(() => {});
  /* Every partner site, so the sender sees which buildings the drawn area takes in. */
  api("GET", "/sites").then((rows) => {
    siteMarkers = Vigil.siteLayer(rows.map((row) => ({ name: row.name, lat: row.lat, lon: row.lon,
      organisation: row.organisation_name }))).addTo(view);
  }).catch(() => {});
  const areaName = document.getElementById("area_name");
  let presetName = "";
  presetSelect.addEventListener("change", () => {
    const chosen = presets[Number(presetSelect.value)];
    if (presetSelect.value !== "" && chosen) {
      if (!areaName.value || areaName.value === presetName) areaName.value = chosen.name;
      presetName = chosen.name;
      show(chosen.area, chosen.name);
    }
  });
  /* A drawn or typed area is no longer the preset: its name goes unless the sender typed one. */
  function leavePreset() {
    presetSelect.value = "";
    if (presetName && areaName.value === presetName) areaName.value = "";
    presetName = "";
  }

  /* A typed circle, for keyboard users and for coordinates read over the radio. */
  document.getElementById("circle-apply").addEventListener("click", () => {
    const lat = Number(document.getElementById("circle-lat").value);
    const lon = Number(document.getElementById("circle-lon").value);
    const radius = Number(document.getElementById("circle-radius").value);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || !(radius > 0)
        || document.getElementById("circle-lat").value === "" || document.getElementById("circle-lon").value === "") {
      summary.textContent = "Give a latitude, a longitude and a radius above 0.";
      return;
    }
    leavePreset();
    show({ circle: { lat, lon, radius_m: radius } });
  });

  /* The expiry field shows the viewer's local time; the API gets an ISO time with offset. */
  const expires = document.getElementById("expires");
  const toLocalInput = (date) => {
    const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return shifted.toISOString().slice(0, 16);
  };
  expires.value = toLocalInput(new Date(form.dataset.defaultExpiry));

  function body() {
    const data = new FormData(form);
    const out = {
      headline: data.get("headline").trim(), event: data.get("event").trim(),
      category: data.get("category"), severity: data.get("severity"),
      urgency: data.get("urgency"), certainty: data.get("certainty"),
      tlp: data.get("tlp"), description: data.get("description"),
      instruction: data.get("instruction"), language: data.get("language"),
      area_name: data.get("area_name").trim(), ack_within_s: Number(data.get("ack_within_s")),
    };
    if (area) out.area = area;
    if (expires.value) out.expires = new Date(expires.value).toISOString();
    return out;
  }

  function renderReach(reach) {
    const channels = Object.entries(reach.channels)
      .map(([name, count]) => `${name} ${count}`).join(", ") || "none";
    // replaceChildren would write a literal "null" for a part left out: el() drops them.
    reachBox.replaceChildren(el("div", { class: "reach-result" },
      el("div", { class: "reach-counts" },
        el("div", {}, el("strong", {}, reach.organisations), "organisations"),
        el("div", {}, el("strong", {}, reach.contacts), "contacts"),
        el("div", {}, el("strong", {}, reach.residents), "residents")),
      el("p", {}, `Deliveries by channel: ${channels}.`),
      el("p", { class: "sites-inside" }, `${reach.sites} partner site${reach.sites === 1 ? "" : "s"} `
        + "inside the area."),
      reach.organisation_names.length
        ? el("p", { class: "hint" }, `Organisations: ${reach.organisation_names.join(", ")}.`) : null,
      reach.needs_approval
        ? el("p", { class: "notice" }, "This alert waits for an approver before it is sent.") : null,
    ));
    lastReach = reach;
  }

  let timer = null;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  }

  let lastReach = null;
  async function preview(event) {
    if (!area) {
      lastReach = null;
      reachBox.replaceChildren(el("p", { class: event ? "notice no-area" : "muted" },
        "No area yet: draw one on the map, pick a preset area or type a circle, then preview its reach."));
      return;
    }
    // The preview needs only a valid area and label; placeholders fill what is not typed yet.
    const draft = Object.assign(body(), {});
    draft.headline = draft.headline || "Preview";
    draft.event = draft.event || "Preview";
    try {
      renderReach(await api("POST", "/alerts/preview", draft));
    } catch (error) {
      reachBox.replaceChildren(el("p", { class: "error" }, error.message));
    }
  }

  document.getElementById("preview").addEventListener("click", preview);
  for (const input of form.querySelectorAll('input[name="tlp"]')) {
    input.addEventListener("change", schedulePreview);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const send = document.getElementById("send");
    const draft = body();
    if (area && (draft.severity === "Extreme" || draft.tlp === "TLP:RED")) {
      await preview();
      const why = [draft.severity === "Extreme" ? "Extreme" : null,
        draft.tlp === "TLP:RED" ? "TLP:RED" : null].filter(Boolean).join(" and ");
      const reach = lastReach ? `${lastReach.organisations} organisations, ${lastReach.contacts} `
        + `contacts and ${lastReach.residents} residents` : "everyone in the area";
      if (!window.confirm(`Send this ${why} alert to ${reach}?`)) return;
    }
    send.disabled = true;
    try {
      const created = await api("POST", "/alerts", draft);
      announce(created.status === "pending" ? "Alert submitted for approval." : "Alert sent.");
      window.location.assign(`/alerts/${created.id}`);
    } catch (error) {
      if (error.fields && error.fields.area && !area) error.fields.area = "draw or choose an area first";
      showErrors(form, error, formError);
      send.disabled = false;
    }
  });
})();
