/* Residents' pages: pick a point and radius on a map (typed coordinates work without it),
 * and the map of the public alerts. The forms are plain forms; this only helps fill them. */
"use strict";
(function () {
  /* The chosen area in the page's accent colour, so it stands out in high contrast too. */
  const accent = () =>
    getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#0b4f8a";

  function number(input) {
    const text = String(input.value).trim();
    const value = Number(text);
    return text !== "" && Number.isFinite(value) ? value : null;
  }

  function picker(node) {
    const form = node.closest("form");
    const lat = form.querySelector("[name=lat]");
    const lon = form.querySelector("[name=lon]");
    const radius = form.querySelector("[name=radius_m]");
    const status = form.querySelector("[data-place-status]");
    const locate = form.querySelector("[data-locate]");
    node.hidden = false;  // without scripts the map is left out and the inputs suffice
    const view = Vigil.map(node, { center: Vigil.TORONTO, zoom: 13 });
    let circle = null;
    let centre = null;

    const point = () => {
      const la = number(lat), lo = number(lon);
      if (la === null || lo === null || Math.abs(la) > 90 || Math.abs(lo) > 180) return null;
      return L.latLng(la, lo);
    };
    const distance = () => radius.selectedOptions[0] ? radius.selectedOptions[0].textContent : "";

    function draw(fit, animate) {
      const where = point();
      if (!where) {
        if (circle) { circle.remove(); centre.remove(); circle = centre = null; }
        return;
      }
      if (!circle) {
        const color = accent();
        circle = L.circle(where, { radius: Number(radius.value), color, weight: 2, fillOpacity: 0.15 })
          .addTo(view);
        centre = L.circleMarker(where, { radius: 5, color, fillOpacity: 1 }).addTo(view);
      }
      circle.setLatLng(where).setRadius(Number(radius.value));
      centre.setLatLng(where);
      if (fit) view.fitBounds(circle.getBounds(), { padding: [16, 16], animate: animate !== false });
    }

    function choose(latlng, how) {
      const where = view.wrapLatLng(latlng);
      lat.value = where.lat.toFixed(5);
      lon.value = where.lng.toFixed(5);
      draw(true);
      status.textContent = `${how}: ${lat.value}, ${lon.value}; alerts within ${distance()} of it.`;
    }

    view.on("click", (event) => choose(event.latlng, "Centre set on the map"));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === node) {
        event.preventDefault();
        choose(view.getCenter(), "Centre set to the middle of the map");
      }
    });
    for (const input of [lat, lon]) {
      input.addEventListener("input", () => draw(false));
      input.addEventListener("change", () => draw(true));
    }
    radius.addEventListener("change", () => {
      draw(true);
      if (point()) status.textContent = `Alerts within ${distance()} of ${lat.value}, ${lon.value}.`;
    });
    if (locate && "geolocation" in navigator) {
      locate.hidden = false;
      locate.addEventListener("click", () => {
        status.textContent = "Finding your location…";
        navigator.geolocation.getCurrentPosition(
          (found) => choose(L.latLng(found.coords.latitude, found.coords.longitude),
            "Centre set to your location"),
          (error) => { status.textContent = `Could not find your location (${error.message}); tap the map or type the coordinates.`; },
          { timeout: 15000, maximumAge: 60000 });
      });
    }
    draw(true, false);  // open where the subscription already is
  }

  function publicMap(node) {
    const view = Vigil.map(node, { center: Vigil.TORONTO, zoom: 12 });
    let bounds = null;
    for (const card of document.querySelectorAll("article[data-area]")) {
      let area;
      try { area = JSON.parse(card.dataset.area); } catch (error) { continue; }
      if (!area) continue;  // an alert that only names places (CAP geocodes) has no outline
      const layer = Vigil.areaLayer(area).addTo(view);
      const title = card.querySelector("h2").textContent;
      // A node, not a string: Leaflet puts a string tooltip in innerHTML, and a headline
      // may come from another agency's CAP file.
      layer.bindTooltip(Vigil.el("span", { text: title }));
      layer.on("click", () => { location.hash = card.id; });
      bounds = bounds ? bounds.extend(layer.getBounds()) : L.latLngBounds(layer.getBounds());
    }
    if (bounds && bounds.isValid()) {
      view.fitBounds(bounds, { padding: [16, 16], maxZoom: 16, animate: false });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const node of document.querySelectorAll("[data-pick-map]")) picker(node);
    for (const node of document.querySelectorAll("[data-public-map]")) publicMap(node);
  });
})();
