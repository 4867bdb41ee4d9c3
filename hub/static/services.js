/* Services near you: the phone's location (or a typed one) to /api/v1/services/nearby, the
 * places as big cards with call and directions links. The last answer is kept on the device,
 * so on a flaky connection the page still shows it and says how old it is.
 * Server data only ever reaches the page as text (Vigil.el), never as HTML. */
"use strict";
(function () {
  const { api, el } = window.Vigil;
  const root = document.getElementById("services");
  if (!root) return;

  const NEEDS = JSON.parse(root.dataset.needs || "[]");  // [value, label] pairs
  const LAST_KEY = "vigil-services-last";
  const NEED_KEY = "vigil-services-need";
  const WAIT_MS = 12000;  // a request slower than this counts as no connection
  const $ = (id) => document.getElementById(id);
  const status = $("services-status");
  const ageNote = $("services-age");
  const list = $("services-list");
  const label = Object.fromEntries(NEEDS);
  let need = localStorage.getItem(NEED_KEY) || "shelter";
  let shown = null;  // the answer on the page: {answer, fetchedAt, lat, lon, need, live}

  function distance(metres) {
    return metres < 1000 ? `${metres} m` : `${(metres / 1000).toFixed(1)} km`;
  }

  function age(ms) {
    const minutes = Math.floor((Date.now() - ms) / 60000);
    if (minutes < 1) return "less than a minute ago";
    if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"} ago`;
    return `${Math.floor(minutes / 60)} hours ago`;
  }

  function room(place) {
    if (place.capacity === null) return "No beds to count: always has room";
    return `${place.available} of ${place.capacity} free`;
  }

  function telephone(phone) {
    return phone.replace(/\s*(ext\.?|x)\s*(\d+)$/i, ",$2").replace(/[^0-9+,]/g, "");
  }

  function card(place, from) {
    const to = `${place.lat},${place.lon}`;
    const route = `https://www.openstreetmap.org/directions?from=${from.lat},${from.lon}&to=${to}`;
    return el("li", { class: "place" },
      el("h2", { text: place.name }),
      el("p", { class: "facts" },
        el("span", { class: "badge need", text: label[place.need] || place.need }),
        place.open_now ? el("span", { class: "badge open", text: "Open now" }) : null,
        place.open_now === false ? el("span", { class: "badge closed", text: "Closed now" }) : null,
        el("span", { class: "distance", text: distance(place.distance_m) })),
      el("p", { class: "room", text: room(place) }),
      el("p", { class: "address", text: place.address }),
      el("p", { class: "muted", text: `Hours: ${place.hours || "not known"}` }),
      place.serves.length ? el("p", { class: "muted", text: `Serves: ${place.serves.join(", ")}` }) : null,
      el("p", { class: "actions" },
        place.phone ? el("a", { class: "button big", href: `tel:${telephone(place.phone)}`,
          text: `Call ${place.phone}` }) : null,
        el("a", { class: "button big", href: route, rel: "noopener", target: "_blank",
          text: "Directions" }),
        el("a", { class: "button big secondary", href: `geo:${to}?q=${to}`,
          text: "Open in maps app" })));
  }

  function render(kept) {
    shown = kept;
    const { answer } = kept;
    list.replaceChildren(...answer.places.map((place) => card(place, kept)));
    if (!answer.places.length) {
      list.append(el("li", { class: "empty muted",
        text: `No ${(label[kept.need] || "place").toLowerCase()} near here is open with room now.` }));
    }
    showAge();
  }

  function showAge() {
    if (!shown) return;
    const what = label[shown.need] || "Places";
    ageNote.hidden = false;
    ageNote.classList.toggle("old", !shown.live);
    ageNote.textContent = shown.live
      ? `${what}: answer from ${age(shown.fetchedAt)}.`
      : `No connection: showing the last answer, from ${age(shown.fetchedAt)} (${what}). It may be out of date.`;
  }

  async function search(lat, lon) {
    status.textContent = "Searching…";
    const query = new URLSearchParams({ lat: lat.toFixed(5), lon: lon.toFixed(5), need, limit: "10" });
    const timer = new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), WAIT_MS));
    try {
      const answer = await Promise.race([api("GET", `/services/nearby?${query}`), timer]);
      const fresh = { answer, fetchedAt: Date.now(), lat, lon, need, live: true };
      localStorage.setItem(LAST_KEY, JSON.stringify({ ...fresh, live: false }));
      render(fresh);
      status.textContent = `${answer.places.length} found near ${lat.toFixed(4)}, ${lon.toFixed(4)}.`;
    } catch (error) {
      if (error instanceof Vigil.ApiError && error.status < 500) {
        status.textContent = `Could not search: ${error.message}`;
        return;
      }
      const last = kept();
      if (last) render(last);
      status.textContent = last ? "The hub did not answer." : "The hub did not answer, and no earlier answer is kept on this device.";
    }
  }

  function kept() {
    try {
      const last = JSON.parse(localStorage.getItem(LAST_KEY) || "null");
      return last && last.answer && Array.isArray(last.answer.places) ? { ...last, live: false } : null;
    } catch (error) {
      return null;
    }
  }

  function locate() {
    if (!navigator.geolocation) {
      status.textContent = "This browser cannot share its location: type one below.";
      $("typed-place").open = true;
      return;
    }
    status.textContent = "Finding your location…";
    navigator.geolocation.getCurrentPosition(
      (position) => search(position.coords.latitude, position.coords.longitude),
      (error) => {
        status.textContent = error.code === error.PERMISSION_DENIED
          ? "Location is blocked for this page: allow it, or type a location below."
          : "Your location could not be found: try again, or type one below.";
        $("typed-place").open = true;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function needButtons() {
    const holder = $("need-choices");
    holder.replaceChildren(...NEEDS.map(([value, text]) => el("button", {
      type: "button", class: "need-choice", "aria-pressed": String(value === need),
      "data-need": value, text,
      onclick: () => {
        need = value;
        localStorage.setItem(NEED_KEY, need);
        for (const button of holder.querySelectorAll("button")) {
          button.setAttribute("aria-pressed", String(button.dataset.need === need));
        }
        if (shown) search(shown.lat, shown.lon);
      },
    })));
  }

  $("locate").addEventListener("click", locate);
  $("place-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const lat = Number($("lat").value), lon = Number($("lon").value);
    if (!$("lat").value.trim() || !$("lon").value.trim() || !Number.isFinite(lat) ||
        !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      status.textContent = "Type a latitude (-90 to 90) and a longitude (-180 to 180).";
      return;
    }
    search(lat, lon);
  });
  needButtons();
  const last = kept();
  if (last) {
    render(last);
    status.textContent = "The last answer on this device; search again for a fresh one.";
  }
  setInterval(showAge, 30000);
})();
