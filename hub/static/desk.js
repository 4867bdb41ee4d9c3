/* The partner desk: the live feed over a WebSocket (resumed with `since` after a drop),
 * alert cards with a map, one-click answers and field reports, and the earlier alerts.
 * Server data only ever reaches the page as text (Vigil.el), never as HTML. */
"use strict";
(function () {
  const { api, el, when, timeNode } = window.Vigil;
  const root = document.getElementById("desk");
  if (!root) return;

  const CAN_ANSWER = root.dataset.canAnswer === "true";
  const UPLOAD_MAX = Number(root.dataset.uploadMax) || 0;
  const SEQ_KEY = `vigil-desk-seq:${root.dataset.organisation}`;
  const SITES = JSON.parse(root.dataset.sites || "[]");  // this organisation's own sites
  const SOUND_KEY = "vigil-desk-sound";
  const HISTORY_LIMIT = 50;
  const ANSWERS = [
    ["received", "Received"], ["responding", "Responding"],
    ["not_affected", "Not affected"], ["need_help", "Need help"],
  ];
  const STATUS_LABEL = Object.assign({ acknowledged: "Acknowledged" }, Object.fromEntries(ANSWERS));
  const ALL_CLEAR = "ALL CLEAR: ";
  /* What kind of message the card's newest one is: new, an update, the all clear (an update
   * of urgency Past, as the police send it) or a cancel. */
  function kindOf(alert) {
    if (alert.msg_type === "Cancel") return { label: "CANCELLED", cls: "is-cancel" };
    if (alert.msg_type === "Update" && alert.urgency === "Past") {
      return { label: "ALL CLEAR", cls: "is-allclear" };
    }
    if (alert.msg_type === "Update") return { label: "UPDATE", cls: "is-update" };
    return { label: null, cls: "" };
  }
  /* An all clear's headline without the prefix the console writes: the card says it once. */
  const plainHeadline = (alert, headline) =>
    (kindOf(alert).cls === "is-allclear" && headline.startsWith(ALL_CLEAR)
      ? headline.slice(ALL_CLEAR.length) : headline);
  /* No answer is asked of a cancelled alert, and nobody needs help after the all clear. */
  const answersFor = (alert) => (kindOf(alert).cls === "is-cancel" ? []
    : kindOf(alert).cls === "is-allclear" ? ANSWERS.filter(([status]) => status !== "need_help")
      : ANSWERS);
  const FOLD_AFTER_MS = 1500;  // an answered card folds to one line after this
  const RETRY_FIRST_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const REPLAY_QUIET_MS = 700;  // the replay after a resume comes in one burst

  const $ = (id) => document.getElementById(id);
  const liveList = $("live-alerts");
  const historyList = $("history");
  const cards = new Map();  // the original alert's id -> its card, revisions included
  const sameDay = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

  /* Like replaceChildren, leaving out the parts that do not apply (null). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
  }

  function shortWhen(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return iso || "";
    return moment.toDateString() === new Date().toDateString() ? sameDay.format(moment) : when(iso);
  }

  /* ---------- sound: a two-tone alarm made with WebAudio, after a user gesture ---------- */

  const sound = { on: localStorage.getItem(SOUND_KEY) === "on", context: null, last: 0 };

  function audio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!sound.context) sound.context = new Context();
    if (sound.context.state === "suspended") sound.context.resume();
    return sound.context;
  }

  function alarm(force) {
    if (!force && (!sound.on || Date.now() - sound.last < 3000)) return;  // once a burst
    const context = audio();
    if (!context) return;
    sound.last = Date.now();
    const start = context.currentTime + 0.05;
    for (let i = 0; i < 6; i += 1) {
      const at = start + i * 0.25;
      const tone = context.createOscillator();
      const gain = context.createGain();
      tone.type = "triangle";
      tone.frequency.value = i % 2 ? 660 : 988;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.22);
      tone.connect(gain).connect(context.destination);
      tone.start(at);
      tone.stop(at + 0.24);
    }
  }

  function setupSound() {
    const toggle = $("sound-toggle");
    const show = () => toggle.setAttribute("aria-pressed", String(sound.on));
    show();
    toggle.addEventListener("click", () => {
      sound.on = !sound.on;
      localStorage.setItem(SOUND_KEY, sound.on ? "on" : "off");
      if (sound.on) audio();  // created inside the click, so the browser lets it play
      show();
      Vigil.announce(sound.on ? "Alert sound on" : "Alert sound off");
    });
    $("sound-test").addEventListener("click", () => alarm(true));
    // A remembered "on" still needs one gesture on this page before audio may start.
    const wake = () => { if (sound.on) audio(); };
    document.addEventListener("pointerdown", wake);
    document.addEventListener("keydown", wake);
  }

  /* ---------- an alert card ---------- */

  function rootId(alert) {
    return alert.references || alert.id;
  }

  /* The alert's words in the reader's language when a CAP alert carries several (its own
   * columns are the first language; cap.infos[1:] the translations), else its own. */
  function words(alert) {
    const own = { language: alert.language, headline: alert.headline, event: alert.event,
      description: alert.description, instruction: alert.instruction };
    const infos = (alert.cap && alert.cap.infos) || [];
    if (infos.length < 2) return own;
    const chosen = Vigil.pickLanguage([alert.language, ...infos.slice(1).map((info) => info.language)]);
    const info = chosen > 0 ? infos[chosen] : null;
    return info ? { language: info.language, headline: info.headline, event: info.event,
      description: info.description, instruction: info.instruction } : own;
  }

  /* The places a CAP alert names (its first <info>'s area descriptions). */
  function namedPlaces(alert) {
    const info = alert.cap && alert.cap.infos && alert.cap.infos[0];
    return ((info && info.areas) || []).map((area) => area.description).filter(Boolean);
  }

  function areaText(alert) {
    const area = alert.area;
    if (!area) {
      const places = namedPlaces(alert);
      return `Named places only (no map outline)${places.length ? `: ${places.join("; ")}` : ""}`;
    }
    if (area.circle) {
      const { lat, lon, radius_m: radius } = area.circle;
      return `Within ${Math.round(radius)} m of ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
    }
    const points = ((area && area.coordinates) || []).flat(Infinity);
    if (points.length < 2) return "";
    const lons = points.filter((_, i) => i % 2 === 0);
    const lats = points.filter((_, i) => i % 2 === 1);
    const mid = (values) => (Math.min(...values) + Math.max(...values)) / 2;
    return `Area around ${mid(lats).toFixed(5)}, ${mid(lons).toFixed(5)}`;
  }

  /* The area by name (a preset's, or a CAP areaDesc) and whether the desk's own sites are in
   * it, so a desk sees at a glance whether its building is affected. */
  function areaLine(alert) {
    const name = alert.area_name || areaText(alert);
    if (!alert.area || !SITES.length) return el("p", { class: "area-name" }, el("strong", {}, "Area: "), name);
    const inside = SITES.filter((site) => Vigil.contains(alert.area, site.lat, site.lon));
    const sites = inside.map((site) => site.name).join(", ");
    return el("p", { class: "area-name" }, el("strong", {}, "Area: "), name, " · ",
      inside.length
        ? el("span", { class: "sites-in" }, `Your site${inside.length === 1 ? "" : "s"} ${sites} `
          + `${inside.length === 1 ? "is" : "are"} inside`)
        : el("span", { class: "sites-out" }, SITES.length === 1 ? "Your site is outside"
          : `None of your ${SITES.length} sites is inside`));
  }

  function areaCentre(area) {
    if (area && area.circle) return [area.circle.lat, area.circle.lon];
    return null;
  }

  function createCard(id) {
    const card = { id, latest: null, ack: null, answered: false, changing: false, place: null,
      map: null, layer: null, sites: null, marker: null, fresh: false };
    const key = id.replace(/[^A-Za-z0-9_-]/g, "");
    card.head = el("div", { class: "banner" });
    card.details = el("div", { class: "card-details" });
    card.areaNote = el("p", { class: "hint area-note" });
    card.mapNode = el("div", {
      class: "map small", role: "region",
      "aria-label": "Map of the alert area. Clicking it sets your field report's location.",
    });
    card.fold = el("div", { class: "fold-line", hidden: true },
      el("span", { class: "fold-summary" }),
      el("button", { type: "button", class: "secondary", onclick: () => unfold(card) }, "Show"));
    card.dismiss = el("button", { type: "button", class: "secondary dismiss",
      onclick: () => dismiss(card) }, "Dismiss");
    card.node = el("article", { class: "alert-card", id: `alert-${key}`, "aria-labelledby": `head-${key}` },
      card.fold,
      el("div", { class: "card-tools" }, card.dismiss),
      card.head,
      el("div", { class: "card-body" },
        card.details,
        el("div", { class: "card-grid" },
          el("div", { class: "card-map" }, card.mapNode, card.areaNote),
          answerBlock(card, key))),
      CAN_ANSWER ? reportForm(card, key) : null);
    card.key = key;
    return card;
  }

  /* What an update changed since the message before it, in a line. */
  const CHANGES = [["headline", "headline"], ["severity", "severity"], ["urgency", "urgency"],
    ["instruction", "what to do"], ["description", "description"], ["expires", "expiry"]];
  function changedSince(previous, alert) {
    if (!previous || kindOf(alert).cls !== "is-update") return [];  // all clear: its own card
    const said = CHANGES.filter(([key]) => (previous[key] || "") !== (alert[key] || ""))
      .map(([key, label]) => (key === "severity" || key === "urgency"
        ? `${label} ${previous[key]} → ${alert[key]}` : label));
    if (JSON.stringify(previous.area) !== JSON.stringify(alert.area)) said.push("area");
    return said;
  }

  function renderHead(card) {
    const alert = card.latest;
    const text = words(alert);
    const lang = text.language || null;
    const { label: kind, cls } = kindOf(alert);
    const over = cls === "is-allclear" || cls === "is-cancel";
    card.node.classList.toggle("is-over", over);
    card.head.className = over ? `banner ${cls}`
      : `banner ${Vigil.severityClass(alert.severity)}${cls ? ` ${cls}` : ""}`;
    fill(card.head,
      el("p", { class: "kicker" },
        kind ? el("span", { class: "kind" }, kind)
          : card.place === "live" ? el("span", { class: "kind" }, "NEW ALERT") : null,
        over ? null
          : el("span", { class: "severity" }, `${alert.severity} · ${alert.urgency} · ${alert.certainty}`),
        Vigil.tlpBadge(alert.tlp)),
      el("h3", { id: `head-${card.key}` }, kind ? `${kind}: ` : null,
        el("span", { lang }, plainHeadline(alert, text.headline))),
      el("p", { class: "event" }, el("span", { lang }, text.event),
        alert.category ? ` (${alert.category})` : ""),
      areaLine(alert),
      alert.msg_type === "Cancel"
        ? el("p", { class: "instruction" }, el("strong", {}, "Cancelled by the police: "),
          "the earlier instruction no longer applies.")
        : text.instruction ? el("p", { class: "instruction" }, el("strong", {}, "What to do: "),
          el("span", { lang }, text.instruction)) : null,
      card.missed ? el("p", { class: "missed" }, el("strong", {}, "Missed while away: "),
        "this arrived while the desk was offline.") : null,
      changedSince(card.previous, alert).length
        ? el("p", { class: "changed" }, el("strong", {}, "What changed: "),
          changedSince(card.previous, alert).join("; "), ".") : null,
      el("p", { class: "times" }, alert.sender_name
        ? [el("span", { class: "sender" }, `From ${alert.sender_name}`), " · "] : null,
      kind ? "Changed " : "Sent ", timeNode(alert.sent || alert.created),
        alert.expires ? el("span", {}, " · Expires ", timeNode(alert.expires)) : null));
    fill(card.details,
      text.description ? el("p", { class: "description", lang }, text.description) : null);
    card.areaNote.textContent = `${areaText(alert)}${SITES.length && alert.area
      ? ". Blue dots: your sites." : ""}`;
    drawArea(card);
    if (card.summary) renderSummary(card);
  }

  function renderSummary(card) {
    const alert = card.latest;
    const { label: kind } = kindOf(alert);
    fill(card.summary,
      el("span", { class: `badge ${Vigil.severityClass(alert.severity)}` }, alert.severity),
      kind ? el("span", { class: "badge kind-badge" }, kind) : null,
      el("span", { class: "summary-headline", lang: words(alert).language || null },
        plainHeadline(alert, words(alert).headline)),
      el("span", { class: "summary-meta" }, timeNode(alert.sent || alert.created), " · ",
        el("span", { class: card.ack ? "answer-chip done" : "answer-chip" },
          card.ack ? STATUS_LABEL[card.ack.status] || card.ack.status
            : card.answered ? "Not answered" : "…")));
  }

  /* The map is drawn once the card is visible; Leaflet cannot size a hidden box. */
  function ensureMap(card) {
    if (card.map || !window.L || !card.mapNode.isConnected || !card.mapNode.offsetParent) return;
    card.map = Vigil.map(card.mapNode, { center: areaCentre(card.latest.area) || Vigil.TORONTO, zoom: 15 });
    card.map.on("click", (event) => setPlace(card, event.latlng.lat, event.latlng.lng, "the map"));
    if (SITES.length) card.sites = Vigil.siteLayer(SITES).addTo(card.map);
    drawArea(card);
  }

  function drawArea(card) {
    if (!card.map) return;
    if (card.layer) card.layer.remove();
    card.layer = null;
    if (!card.latest.area) return;  // named places only: nothing to outline
    card.layer = Vigil.areaLayer(card.latest.area, card.latest.msg_type === "Cancel"
      ? { color: "#555", dashArray: "6 4" } : undefined).addTo(card.map);
    if (card.sites) card.sites.bringToFront();
    try {
      card.map.fitBounds(card.layer.getBounds(), { maxZoom: 16, padding: [12, 12] });
    } catch (error) {
      /* an empty area keeps the default view */
    }
  }

  /* ---------- answers (acks) ---------- */

  function answerBlock(card, key) {
    card.answerText = el("p", { class: "answered", role: "status", "aria-live": "polite" });
    card.answerError = el("p", { class: "error", role: "alert", hidden: true });
    card.buttons = ANSWERS.map(([status, label]) => el("button", {
      type: "button", class: `ack ack-${status}`, "data-status": status, "aria-pressed": "false",
      onclick: () => answer(card, status),
    }, label));
    card.buttonRow = el("div", { class: "actions ack-buttons", role: "group", "aria-labelledby": `answer-${key}` },
      card.buttons);
    card.changeButton = el("button", { type: "button", class: "secondary change", hidden: true,
      onclick: () => { card.changing = true; renderAnswer(card); card.buttons[0].focus(); } },
    "Change answer");
    return el("div", { class: "card-answer" },
      el("h4", { id: `answer-${key}` }, "Your answer"),
      card.answerText,
      CAN_ANSWER ? [card.buttonRow, card.changeButton, card.answerError]
        : el("p", { class: "hint" }, "Partner desk staff answer alerts; you can watch here."));
  }

  function renderAnswer(card) {
    const ack = card.ack;
    if (ack) {
      const who = ack.mine ? "You answered" : "Answered";
      card.answerText.replaceChildren(`${who}: `, el("strong", {}, STATUS_LABEL[ack.status] || ack.status),
        " at ", el("time", { datetime: ack.updated }, shortWhen(ack.updated)));
    } else {
      card.answerText.textContent = card.answered ? "Not answered yet." : "Checking for an answer…";
    }
    const offered = new Set(answersFor(card.latest).map(([status]) => status));
    for (const button of card.buttons) {
      button.setAttribute("aria-pressed", String(Boolean(ack) && ack.status === button.dataset.status));
      button.hidden = !offered.has(button.dataset.status);
    }
    if (!offered.size) {
      card.answerText.textContent = ack ? card.answerText.textContent
        : "Cancelled by the police: no answer is needed.";
    }
    // In the history an answered alert keeps its buttons behind "Change answer".
    const folded = card.place === "history" && Boolean(ack) && !card.changing;
    card.buttonRow.hidden = folded || !offered.size;
    card.changeButton.hidden = !folded || !CAN_ANSWER || !offered.size;
    if (card.summary) renderSummary(card);
  }

  async function answer(card, status) {
    card.answerError.hidden = true;
    for (const button of card.buttons) button.disabled = true;
    try {
      const ack = await api("POST", `/alerts/${encodeURIComponent(card.id)}/acks`, { status });
      card.ack = Object.assign(ack, { mine: true });
      card.answered = true;
      card.changing = false;
      renderAnswer(card);
      Vigil.announce(`Answer sent: ${STATUS_LABEL[status]}`);
      card.pinned = false;
      setTimeout(() => fold(card), FOLD_AFTER_MS);
    } catch (error) {
      card.answerError.textContent = `Your answer was not sent: ${error.message}. Try again.`;
      card.answerError.hidden = false;
    } finally {
      for (const button of card.buttons) button.disabled = false;
    }
  }

  async function loadAnswer(card) {
    if (card.answered) return;
    try {
      const acks = await api("GET", `/alerts/${encodeURIComponent(card.id)}/acks`);
      acks.sort((a, b) => String(a.updated).localeCompare(String(b.updated)));
      if (!card.ack) card.ack = acks.length ? acks[acks.length - 1] : null;
      card.answered = true;
    } catch (error) {
      card.answerText.textContent = `Could not load the answer: ${error.message}`;
      return;
    }
    renderAnswer(card);
  }

  /* ---------- field reports ---------- */

  function reportForm(card, key) {
    const id = (name) => `${name}-${key}`;
    const summary = el("p", { class: "error", role: "alert", tabindex: "-1", hidden: true });
    const done = el("p", { class: "success", role: "status", "aria-live": "polite" });
    const located = el("p", { class: "hint", "aria-live": "polite" });
    const limit = UPLOAD_MAX ? ` up to ${Math.floor(UPLOAD_MAX / 1048576)} MB` : "";
    const form = el("form", { class: "report-form", novalidate: true },
      summary,
      el("div", { class: "field" },
        el("label", { for: id("text") }, "What do you see?"),
        el("textarea", { id: id("text"), name: "text", required: true, maxlength: "10000",
          rows: "3", "aria-describedby": id("text-hint") }),
        el("p", { class: "hint", id: id("text-hint") }, "Facts only: what, where, how many people, which direction.")),
      el("fieldset", { class: "place" },
        el("legend", {}, "Where"),
        el("div", { class: "row two" },
          el("div", { class: "field" }, el("label", { for: id("lat") }, "Latitude"),
            el("input", { id: id("lat"), name: "lat", type: "text", inputmode: "decimal",
              required: true, autocomplete: "off", placeholder: "43.64810" })),
          el("div", { class: "field" }, el("label", { for: id("lon") }, "Longitude"),
            el("input", { id: id("lon"), name: "lon", type: "text", inputmode: "decimal",
              required: true, autocomplete: "off", placeholder: "-79.38050" }))),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "secondary", onclick: () => locate(card) }, "Use my location")),
        located),
      el("div", { class: "field" },
        el("label", { for: id("file") }, "Photos or videos (optional)"),
        el("input", { id: id("file"), name: "file", type: "file", accept: root.dataset.mediaTypes,
          multiple: true, capture: "environment", "aria-describedby": id("file-hint") }),
        el("p", { class: "hint", id: id("file-hint") }, `${root.dataset.mediaNames}${limit}.`)),
      el("div", { class: "actions" }, el("button", { type: "submit" }, "Send report")),
      done);
    card.form = form;
    card.located = located;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendReport(card, form, summary, done);
    });
    card.reportDetails = el("details", { class: "report" },
      el("summary", {}, "Send a field report"), form);
    return card.reportDetails;
  }

  function setPlace(card, lat, lon, source) {
    if (!card.form) return;
    card.form.elements.lat.value = lat.toFixed(5);
    card.form.elements.lon.value = lon.toFixed(5);
    card.reportDetails.open = true;
    card.located.textContent = `Location set from ${source}: ${lat.toFixed(5)}, ${lon.toFixed(5)}.`;
    if (card.map) {
      if (card.marker) card.marker.remove();
      card.marker = L.circleMarker([lat, lon], { radius: 7, color: "#0b4f8a", fillOpacity: 0.9 })
        .addTo(card.map);
    }
  }

  function locate(card) {
    if (!navigator.geolocation) {
      card.located.textContent = "This browser cannot share its location; type it in or click the map.";
      return;
    }
    card.located.textContent = "Finding your location…";
    navigator.geolocation.getCurrentPosition(
      (position) => setPlace(card, position.coords.latitude, position.coords.longitude, "your device"),
      (error) => { card.located.textContent = `No location (${error.message}); type it in or click the map.`; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function checkReport(form) {
    const fields = {};
    if (!form.elements.text.value.trim()) fields.text = "is required";
    for (const [name, bound] of [["lat", 90], ["lon", 180]]) {
      const value = Number(form.elements[name].value);
      if (form.elements[name].value.trim() === "" || !Number.isFinite(value) || Math.abs(value) > bound) {
        fields[name] = `must be a number between -${bound} and ${bound}`;
      }
    }
    for (const file of form.elements.file.files) {
      if (UPLOAD_MAX && file.size > UPLOAD_MAX) fields.file = `each must be at most ${UPLOAD_MAX} bytes`;
    }
    return fields;
  }

  async function sendReport(card, form, summary, done) {
    done.textContent = "";
    const fields = checkReport(form);
    if (Object.keys(fields).length) {
      Vigil.showErrors(form, { message: "Please correct the fields marked below.", fields }, summary);
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    submit.textContent = "Sending…";
    try {
      const body = new FormData();
      body.append("text", form.elements.text.value.trim());
      body.append("lat", form.elements.lat.value.trim());
      body.append("lon", form.elements.lon.value.trim());
      for (const file of form.elements.file.files) body.append("file", file, file.name);
      // A report on no alert goes to the police as it is; one on an alert, with the alert.
      const path = card.id ? `/alerts/${encodeURIComponent(card.id)}/reports` : "/reports";
      const report = await api("POST", path, body);
      Vigil.showErrors(form, { fields: {} });
      summary.hidden = true;
      form.reset();
      if (card.marker) { card.marker.remove(); card.marker = null; }
      card.located.textContent = "";
      done.replaceChildren("Report sent at ", el("time", { datetime: report.created }, shortWhen(report.created)),
        report.files.length ? ` with ${report.files.length} file${report.files.length === 1 ? "" : "s"}.` : ".",
        " Thank you — the police can see it now.");
    } catch (error) {
      const known = error instanceof Vigil.ApiError;
      Vigil.showErrors(form, {
        message: known ? `The report was not sent: ${error.message}` : `The report was not sent: ${error.message}. Check the connection and try again.`,
        fields: known ? error.fields : {},
      }, summary);
    } finally {
      submit.disabled = false;
      submit.textContent = "Send report";
    }
  }

  /* ---------- placing cards: new alerts at the top, earlier ones below ---------- */

  function apply(alert) {
    const id = rootId(alert);
    let card = cards.get(id);
    if (!card) {
      card = createCard(id);
      cards.set(id, card);
    }
    if (!card.latest || (alert.seq || 0) >= (card.latest.seq || 0)) {
      if (card.latest && card.latest.id !== alert.id) card.previous = card.latest;
      card.latest = alert;
    }
    return card;
  }

  /* Off the screen, not out of the record: it goes to the earlier alerts. */
  function dismiss(card) {
    card.node.classList.remove("folded");
    toHistory(card);
    if (!liveList.children.length) $("live-empty").hidden = false;
    Vigil.announce("Dismissed: it is under Earlier alerts.");
  }

  /* An answered alert on the live board folds to one line: severity, headline, the answer. */
  function fold(card) {
    if (card.place !== "live" || !card.ack || card.pinned) return;
    card.node.classList.add("folded");
    card.fold.hidden = false;
    fill(card.fold.querySelector(".fold-summary"),
      el("span", { class: `badge ${Vigil.severityClass(card.latest.severity)}` }, card.latest.severity),
      kindOf(card.latest).label ? el("span", { class: "badge kind-badge" }, kindOf(card.latest).label) : null,
      el("span", { class: "summary-headline" }, plainHeadline(card.latest, words(card.latest).headline)),
      el("span", { class: "answer-chip done" }, STATUS_LABEL[card.ack.status] || card.ack.status));
  }

  function unfold(card) {
    card.pinned = true;  // shown on purpose: it stays open until the next news
    card.node.classList.remove("folded");
    card.fold.hidden = true;
    ensureMap(card);
    if (card.map) card.map.invalidateSize();
  }

  function countHistory() {
    const count = historyList.children.length;
    $("history-heading").textContent = count ? `Earlier alerts (${count})` : "Earlier alerts";
    const state = $("history-state");
    if (state.dataset.loaded) {
      state.textContent = count
        ? `${count} earlier alert${count === 1 ? "" : "s"}, newest first. Open one for details, its map and your answer.`
        : "No earlier alerts.";
    }
  }

  function toLive(card) {
    if (card.place === "history") {
      card.item.remove();
      card.summary = null;
    }
    card.place = "live";
    card.changing = false;
    card.pinned = false;
    card.node.classList.remove("folded");
    card.fold.hidden = true;
    liveList.prepend(card.node);
    $("live-empty").hidden = true;
    card.node.classList.remove("arrived");
    void card.node.offsetWidth;  // restart the arrival highlight
    card.node.classList.add("arrived");
    renderHead(card);
    renderAnswer(card);
    ensureMap(card);
    if (card.map) card.map.invalidateSize();
    loadAnswer(card);
    countHistory();
  }

  function toHistory(card) {
    card.place = "history";
    card.summary = el("summary", { class: "past-summary" });
    const details = el("details", { class: "past" }, card.summary, card.node);
    details.addEventListener("toggle", () => {
      if (!details.open) return;
      ensureMap(card);
      loadAnswer(card);
    });
    card.item = el("li", {}, details);
    historyList.prepend(card.item);
    renderHead(card);
    renderAnswer(card);
    countHistory();
  }

  async function loadHistory() {
    const state = $("history-state");
    try {
      const alerts = (await api("GET", `/alerts?limit=${HISTORY_LIMIT}`))
        .filter((alert) => alert.status === "published");
      const touched = new Set();
      for (const alert of [...alerts].reverse()) touched.add(apply(alert));  // oldest first
      const ordered = [...touched].sort((a, b) => (b.latest.seq || 0) - (a.latest.seq || 0));
      [...ordered].reverse().forEach(toHistory);  // each goes on top: newest ends first
      state.dataset.loaded = "true";
      countHistory();
      answerInTurn(ordered);
      return alerts.reduce((high, alert) => Math.max(high, alert.seq || 0), 0);
    } catch (error) {
      state.textContent = `Could not load earlier alerts: ${error.message}`;
      return null;
    }
  }

  /* Each earlier alert's answer, a few at a time, so the list shows what is still open. */
  async function answerInTurn(list) {
    const queue = [...list];
    const worker = async () => {
      while (queue.length) await loadAnswer(queue.shift());
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  /* ---------- the live feed ---------- */

  const feed = {
    socket: null, since: null, attempt: 0, retry: null, ping: null, pong: null,
    replayed: 0, replaying: false, quiet: null, first: true, back: false, loaded: null, stopped: false,
    caughtUp: true,  // the server's `replayed` marker ended this connection's replay
  };
  const statusNode = $("feed-status");
  const noticeNode = $("feed-notice");
  const reconnectButton = $("reconnect");

  function showStatus(online, text) {
    statusNode.classList.toggle("online", online);
    statusNode.classList.toggle("offline", !online);
    statusNode.textContent = text;
    reconnectButton.hidden = online || feed.stopped;
    root.classList.toggle("is-offline", !online);
  }

  function notice(text) {
    noticeNode.textContent = text;
    noticeNode.hidden = !text;
  }

  function remember(seq) {
    if (typeof seq !== "number" || (feed.since !== null && seq <= feed.since)) return;
    feed.since = seq;
    localStorage.setItem(SEQ_KEY, String(seq));
  }

  function connect() {
    clearTimeout(feed.retry);
    if (feed.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/feed`);
    feed.socket = socket;
    socket.addEventListener("open", () => {
      if (feed.since !== null) socket.send(JSON.stringify({ type: "resume", since: feed.since }));
      const back = !feed.first;
      feed.first = false;
      feed.attempt = 0;
      feed.replayed = 0;
      feed.replaying = true;
      feed.caughtUp = feed.since === null;  // no resume sent: nothing to replay
      showStatus(true, "Live");
      if (back) Vigil.announce("Connection restored");
      settleReplay(back);
      keepAlive(socket);
    });
    socket.addEventListener("message", (event) => heard(socket, event));
    socket.addEventListener("close", (event) => lost(socket, event.code));
  }

  /* The replay after a resume arrives at once; when it goes quiet, say what was missed. */
  function settleReplay(back) {
    feed.back = back;
    clearTimeout(feed.quiet);
    feed.quiet = setTimeout(() => {
      feed.replaying = false;
      const n = feed.replayed;
      const missed = `${n} missed alert${n === 1 ? " was" : "s were"} replayed`;
      if (back) notice(n ? `Back online: ${missed}.` : "Back online: nothing was missed.");
      else if (n) notice(`${missed} from while this desk was closed.`);
    }, REPLAY_QUIET_MS);
  }

  function keepAlive(socket) {
    clearInterval(feed.ping);
    feed.ping = setInterval(() => {
      if (socket !== feed.socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      clearTimeout(feed.pong);
      // A silent network does not close a socket for minutes; give up on it sooner.
      feed.pong = setTimeout(() => { lost(socket, 4000); socket.close(); }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  function heard(socket, event) {
    if (socket !== feed.socket) return;
    clearTimeout(feed.pong);
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    // A long absence is replayed in pages: ask for the next one from the last seq heard.
    if (frame.type === "replayed" && frame.more) {
      socket.send(JSON.stringify({ type: "resume", since: frame.last_seq }));
      return;
    }
    if (frame.type === "replayed") {
      feed.caughtUp = true;  // what comes from now on is live, not missed
      return;
    }
    if (frame.type === "error" && frame.error === "rate_limited" && feed.since !== null) {
      setTimeout(() => {
        if (socket === feed.socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ type: "resume", since: feed.since }));
        }
      }, 1000 * (frame.retry_after_s || 2));
      return;
    }
    if (["alert", "update", "cancel"].includes(frame.type) && frame.alert) {
      if (typeof frame.seq === "number" && feed.since !== null && frame.seq <= feed.since) return;
      remember(frame.seq);
      // After a drop, the burst that follows the resume is what was missed; at first
      // connect, only alerts older than the history this page loaded were missed.
      const missed = feed.back || (feed.loaded !== null && frame.seq <= feed.loaded);
      if (feed.replaying && missed) {
        feed.replayed += 1;
        settleReplay(feed.back);
      }
      arrived(frame.alert, feed.replaying && missed && !feed.caughtUp);
    }
  }

  function arrived(alert, missed) {
    const card = apply(alert);
    card.missed = Boolean(missed);
    card.folded = false;  // news unfolds it
    toLive(card);
    const kind = { "is-update": "Update", "is-allclear": "All clear", "is-cancel": "Cancelled" }[
      kindOf(alert).cls] || "New";
    const text = words(alert);
    Vigil.announce(`${kind} ${alert.severity} alert: ${plainHeadline(alert, text.headline)}. `
      + `${text.instruction || ""}`);
    alarm(false);
    if (document.hidden) {
      unseen += 1;
      document.title = `(${unseen}) ${baseTitle}`;
    }
  }

  function lost(socket, code) {
    if (socket !== feed.socket) return;
    feed.socket = null;
    clearInterval(feed.ping);
    clearTimeout(feed.pong);
    clearTimeout(feed.quiet);
    feed.replaying = false;
    if (code === 4401) return signedOut();
    showStatus(false, "Connection lost — reconnecting…");
    notice("");
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** feed.attempt) * (0.8 + Math.random() * 0.4);
    feed.attempt += 1;
    feed.retry = setTimeout(connect, Math.min(RETRY_MAX_MS, delay));
    if (feed.attempt >= 3) checkSession();
  }

  /* A handshake refused for an ended session looks like any dropped connection. */
  async function checkSession() {
    try {
      await api("GET", "/session");
    } catch (error) {
      if (error.status === 401) signedOut();
    }
  }

  function signedOut() {
    feed.stopped = true;
    clearTimeout(feed.retry);
    showStatus(false, "Signed out — the live feed has stopped");
    noticeNode.replaceChildren("Your session has ended. ", el("a", { href: "/login" }, "Sign in again"),
      " to keep receiving alerts.");
    noticeNode.hidden = false;
  }

  function reconnectNow() {
    if (feed.socket || feed.stopped) return;
    feed.attempt = 0;
    connect();
  }

  /* ---------- start ---------- */

  const baseTitle = document.title;
  let unseen = 0;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { unseen = 0; document.title = baseTitle; }
  });
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", () => { if (feed.socket) feed.socket.close(); });
  reconnectButton.addEventListener("click", reconnectNow);
  setupSound();

  async function start() {
    const stored = Number(localStorage.getItem(SEQ_KEY));
    const newest = await loadHistory();
    feed.loaded = newest;
    const known = Number.isInteger(stored) && stored > 0 ? stored : null;
    // Resume from where this browser left off, unless the hub is newer than its memory.
    feed.since = newest === null ? known : (known !== null && known <= newest ? known : newest);
    if (feed.since !== null) localStorage.setItem(SEQ_KEY, String(feed.since));
    connect();
  }

  // Something seen with no alert to answer: a report straight to the police.
  const alone = document.getElementById("standalone-report");
  if (alone && CAN_ANSWER) {
    const pseudo = { id: null };
    const details = reportForm(pseudo, "alone");
    details.querySelector("summary").textContent = "Report something you saw (no alert)";
    alone.append(details);
  }

  // For people and tests: the socket in use and the cards by alert id.
  window.VigilDesk = { get socket() { return feed.socket; }, cards, reconnect: reconnectNow };
  start();
})();
