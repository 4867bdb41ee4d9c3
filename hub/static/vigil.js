/* Vigil pages: what every page script shares. No build step, no framework.
 * Vigil.api       JSON calls to /api/v1 with the session cookie and the CSRF token
 * Vigil.el        builds DOM nodes safely (text is never parsed as HTML)
 * Vigil.when      a time in the viewer's own time zone
 * Vigil.map       a Leaflet map that falls back to a plain background without tiles
 * Vigil.areaLayer an alert area (GeoJSON polygon or circle) as a Leaflet layer
 * Vigil.contains  whether an alert area holds a point (as the hub's targeting counts it)
 * Vigil.siteLayer partner sites as small markers, each named in a text tooltip
 * Vigil.announce  a message for screen readers (aria-live)
 * Vigil.pickLanguage which of several language tags the reader prefers (navigator.languages)
 */
"use strict";
(function () {
  const meta = (name) => {
    const node = document.querySelector(`meta[name="${name}"]`);
    return node ? node.content : "";
  };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || `request failed (${status})`);
      this.status = status;
      this.fields = (body && body.fields) || {};
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": meta("csrf-token") };
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body instanceof Blob) {
      headers["Content-Type"] = body.type || "application/octet-stream";  // a file as it is
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(`/api/v1${path}`, {
      method, headers, body: payload, credentials: "same-origin",
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const formatter = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });

  function when(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? iso : formatter.format(moment);
  }

  /* Server-rendered <time datetime="..."> elements are shown in the viewer's zone. */
  function localiseTimes(root) {
    for (const node of (root || document).querySelectorAll("time[datetime]")) {
      node.textContent = when(node.getAttribute("datetime"));
    }
  }

  function timeNode(iso) {
    return el("time", { datetime: iso || "" }, when(iso));
  }

  const TORONTO = [43.6487, -79.3817];

  function map(node, options) {
    const view = L.map(node, Object.assign({ keyboard: true, scrollWheelZoom: false }, options))
      .setView((options && options.center) || TORONTO, (options && options.zoom) || 15);
    const tiles = meta("tile-url");
    if (tiles && tiles !== "none") {
      const layer = L.tileLayer(tiles, {
        maxZoom: 19,
        attribution: tiles.includes("openstreetmap.org")
          ? '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
          : "",
      });
      // No network to the tile server: keep a plain background; the shapes still show.
      layer.on("tileerror", () => node.classList.add("no-tiles"));
      layer.addTo(view);
    } else {
      node.classList.add("no-tiles");
    }
    return view;
  }

  function areaLayer(area, style) {
    const look = Object.assign({ color: "#b3261e", weight: 2, fillOpacity: 0.15 }, style);
    if (area && area.circle) {
      return L.circle([area.circle.lat, area.circle.lon], Object.assign({ radius: area.circle.radius_m }, look));
    }
    return L.geoJSON(area, { style: () => look });
  }

  /* Whether a point lies inside an area: a circle by great-circle distance, a polygon by
   * the even-odd rule over its rings (so a hole is outside), as hub.geo decides it. */
  function contains(area, lat, lon) {
    if (!area) return false;
    if (area.circle) {
      const rad = Math.PI / 180;
      const dLat = (lat - area.circle.lat) * rad;
      const dLon = (lon - area.circle.lon) * rad;
      const h = Math.sin(dLat / 2) ** 2
        + Math.cos(lat * rad) * Math.cos(area.circle.lat * rad) * Math.sin(dLon / 2) ** 2;
      return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h))) <= area.circle.radius_m;
    }
    const polygons = area.type === "MultiPolygon" ? area.coordinates : [area.coordinates || []];
    return polygons.some((rings) => rings.reduce((inside, ring) => {
      let crossings = inside;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
          crossings = !crossings;
        }
      }
      return crossings;
    }, false));
  }

  /* Sites ({name, lat, lon, organisation?}) as small markers; a tooltip is a text node, never
   * HTML (a site name is whatever its organisation typed). */
  function siteLayer(sites, style) {
    const look = Object.assign({ radius: 5, color: "#0b4f8a", weight: 2, fillOpacity: 0.8,
      className: "site-marker" }, style);
    const layer = L.featureGroup();  // bringToFront() keeps the sites above an area drawn later
    for (const site of sites) {
      const name = site.organisation ? `${site.name} (${site.organisation})` : site.name;
      L.circleMarker([site.lat, site.lon], look).bindTooltip(el("span", { text: name }))
        .addTo(layer);
    }
    return layer;
  }

  /* The index in `tags` of the reader's language: for each wanted tag in turn (by default
   * navigator.languages), the same tag, then the same primary language (fr finds fr-CA);
   * else 0, the first. */
  function pickLanguage(tags, wanted) {
    const have = (tags || []).map((tag) => String(tag || "").toLowerCase());
    const primary = (tag) => tag.split("-")[0];
    const wants = wanted || navigator.languages || [navigator.language];
    for (const want of wants.map((tag) => String(tag || "").toLowerCase()).filter(Boolean)) {
      const exact = have.indexOf(want);
      if (exact >= 0) return exact;
      const same = have.findIndex((tag) => primary(tag) === primary(want));
      if (same >= 0) return same;
    }
    return 0;
  }

  let live;
  function announce(message) {
    if (!live) {
      live = el("div", { class: "sr-only", "aria-live": "assertive", role: "status" });
      document.body.append(live);
    }
    live.textContent = "";
    setTimeout(() => { live.textContent = message; }, 50);
  }

  function severityClass(severity) {
    return `sev-${String(severity || "unknown").toLowerCase()}`;
  }

  function tlpBadge(tlp) {
    const name = String(tlp || "").replace("TLP:", "").toLowerCase().replace("+", "-");
    return el("span", { class: `badge tlp tlp-${name}` }, tlp);
  }

  /* Field errors from a 422 shown next to their inputs (by name), plus a summary. */
  function showErrors(form, error, summary) {
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    for (const [field, message] of Object.entries(error.fields || {})) {
      const input = form.querySelector(`[name="${CSS.escape(field.split(".")[0])}"]`);
      if (!input) continue;
      input.setAttribute("aria-invalid", "true");
      const note = el("p", { class: "field-error error" }, `${field}: ${message}`);
      input.insertAdjacentElement("afterend", note);
      // Fixing the field takes its error away; the summary goes with the last one.
      const clear = () => {
        note.remove();
        input.removeAttribute("aria-invalid");
        if (summary && !form.querySelector(".field-error")) summary.hidden = true;
      };
      input.addEventListener("input", clear, { once: true });
      input.addEventListener("change", clear, { once: true });
    }
    if (summary) {
      summary.textContent = error.message;
      summary.hidden = false;
      summary.focus();
    }
  }

  function contrast() {
    const root = document.documentElement;
    const button = document.querySelector("[data-contrast-toggle]");
    const apply = (on) => {
      root.classList.toggle("high-contrast", on);
      if (button) button.setAttribute("aria-pressed", String(on));
    };
    apply(localStorage.getItem("vigil-contrast") === "high");
    if (button) button.addEventListener("click", () => {
      const on = !root.classList.contains("high-contrast");
      localStorage.setItem("vigil-contrast", on ? "high" : "normal");
      apply(on);
    });
  }

  document.addEventListener("DOMContentLoaded", () => { contrast(); localiseTimes(); });

  window.Vigil = {
    api, ApiError, el, when, timeNode, localiseTimes, map, areaLayer, contains, siteLayer, announce,
    severityClass, tlpBadge, showErrors, pickLanguage, TORONTO,
  };
})();
