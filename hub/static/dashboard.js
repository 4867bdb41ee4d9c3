/* Police pages that watch alerts live, polling while the tab is visible (no reload). One
 * script for both pages, as they share the poller; hence longer than most.
 * /alerts/{id}  one alert and every message of its chain: reports on a map and as a list,
 *               answers by organisation, deliveries by channel and status, escalations,
 *               the CAP document it came from (with its languages), and the publisher's
 *               update, all-clear and cancel forms
 * /approvals    the alerts waiting for a second person, with approve and reject
 */
"use strict";
(function () {
  const { api, el, when, timeNode } = Vigil;
  const POLL_MS = 2500;
  const QUEUE_POLL_MS = 3000;
  const CHANNELS = ["feed", "email", "chat"];
  const STATUSES = ["pending", "sent", "delivered", "failed", "dead"];
  const ANSWERS = {
    received: "Received", acknowledged: "Acknowledged", responding: "Responding",
    not_affected: "Not affected", need_help: "Needs help",
  };
  const ALL_CLEAR = "ALL CLEAR: ";
  const byId = (id) => document.getElementById(id);

  /* Run `tick` now and every `interval` ms while the page is visible; the returned function
   * runs it again at once (after an action), never two at the same time. */
  function poller(tick, interval) {
    let timer = null;
    let running = false;
    let again = false;
    async function run() {
      clearTimeout(timer);
      if (document.visibilityState === "hidden") return;  // visibilitychange resumes it
      if (running) { again = true; return; }
      running = true;
      try { await tick(); } finally { running = false; }
      if (again) { again = false; run(); return; }
      timer = setTimeout(run, interval);
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") run();
    });
    run();
    return run;
  }

  /* Redraw a part only when its data changed, so focus, images and open popups stay put. */
  function changes() {
    const seen = new Map();
    return (key, data, draw) => {
      const signature = JSON.stringify(data);
      if (seen.get(key) === signature) return;
      seen.set(key, signature);
      draw(data);
    };
  }

  function replaceRows(tbody, rows, empty, columns) {
    tbody.replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: columns, class: "muted" }, empty))]));
  }

  function badge(text, extra) {
    return el("span", { class: `badge ${extra || ""}` }, text);
  }

  /* The places the newest CAP message of a chain names, each once: all there is of an area
   * without geometry (`area` null). */
  function namedPlaces(chain) {
    const source = [...chain].reverse().find((message) => message.cap);
    const seen = new Map();
    for (const info of (source && source.cap.infos) || []) {
      for (const area of info.areas || []) {
        const place = { description: area.description || "", geocodes: area.geocodes || [] };
        seen.set(JSON.stringify(place), place);
      }
    }
    return [...seen.values()];
  }

  function placeItem(place) {
    const codes = place.geocodes.map((code) => `${code.name}: ${code.value}`).join(", ");
    return el("li", {}, place.description || "(an area with no name)",
      codes ? [" ", el("span", { class: "geocodes" }, `(${codes})`)] : null);
  }

  /* The map of the dashboard: the latest area (none when it only names places) and a pin
   * per report. */
  function mapView(node) {
    if (!window.L || !node) return null;
    const map = Vigil.map(node, {});
    const markers = new Map();
    let area = null;
    let fitted = false;
    return {
      area(shape) {
        if (area) area.remove();
        area = null;
        if (!shape) return;
        area = Vigil.areaLayer(shape).addTo(map);
        if (!fitted) {
          fitted = true;
          try { map.fitBounds(area.getBounds(), { maxZoom: 17 }); } catch (error) { /* empty */ }
        }
      },
      pin(report, label, popup) {
        if (markers.has(report.id)) return;
        const marker = L.marker([report.lat, report.lon], { title: label, alt: label, keyboard: true })
          .bindPopup(popup(), { maxWidth: 260 }).addTo(map);
        markers.set(report.id, marker);
      },
      show(reportId) {
        const marker = markers.get(reportId);
        if (!marker) return;
        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16));
        marker.openPopup();
        node.scrollIntoView({ block: "nearest" });
      },
    };
  }

  function mediaOf(report, description) {
    if (!report.file) return null;
    if (report.file.kind === "mp4") {
      return el("video", { class: "photo", src: report.file.url, controls: true, preload: "metadata",
        "aria-label": description });
    }
    if (report.file.kind === "heic") {
      return el("a", { href: report.file.url }, "Download the photo (HEIC)");
    }
    return el("img", { class: "photo", src: report.file.url, alt: description, loading: "lazy" });
  }

  /* The incident's state as the server words it (hub/incidents.py), with why if it says. */
  function statusOf(incident) {
    return incident.why && ["withheld", "reached_nobody"].includes(incident.state)
      ? `${incident.state_label}: ${incident.why}` : incident.state_label;
  }

  function messageLabel(message) {
    return message.label;
  }

  function dashboard(root) {
    const alertId = root.dataset.alert;
    let names = JSON.parse(root.dataset.organisations || "{}");
    const redraw = changes();
    const map = mapView(byId("map"));
    const state = { incident: null, chain: [], deliveries: [], acks: [], reports: [] };
    const capView = { info: 0, asked: new Set() };  // the language shown; panels fetched
    const nameOf = (orgId) => (orgId ? names[orgId] || `Organisation ${orgId.slice(0, 8)}` : "Residents");

    /* The whole incident in one answer: messages, names, deliveries, answers, reports,
     * escalations and its state (GET /api/v1/alerts/{id}/chain). */
    async function load() {
      const incident = await api("GET", `/alerts/${alertId}/chain`);
      const labels = new Map(incident.messages.map((message) => [message.id, message.label]));
      names = Object.assign(names, incident.organisations);
      state.incident = incident;
      state.chain = incident.messages;
      state.deliveries = incident.deliveries.map((d) =>
        Object.assign({ message: labels.get(d.alert_id) || "" }, d));
      state.acks = incident.acks;
      state.reports = incident.reports;
    }

    async function tick() {
      const problem = byId("load-error");
      try {
        await load();
        await syncCap();
        problem.hidden = true;
      } catch (error) {
        problem.textContent = `Could not refresh: ${error.message}. Trying again…`;
        problem.hidden = false;
        if (!state.chain.length) return;
      }
      draw();
    }

    function draw() {
      const chain = state.chain;
      const latest = chain[chain.length - 1];
      const incident = state.incident;
      redraw("head", { chain, status: statusOf(incident), state: incident.state,
        overdue: incident.overdue, deadline: incident.deadline, info: capView.info }, drawHead);
      redraw("reports", { reports: state.reports, names }, drawReports);
      redraw("acks", { acks: state.acks, deliveries: state.deliveries, names }, drawAcks);
      redraw("deliveries", { deliveries: state.deliveries, names }, drawDeliveries);
      redraw("escalations", { escalations: incident.escalations, names }, drawEscalations);
      redraw("chain", chain, drawChain);
      if (map) redraw("area", latest.area, (area) => map.area(area));
      redraw("places", { area: latest.area, places: namedPlaces(chain) }, drawPlaces);
      drawSummary();
    }

    function drawPlaces({ area, places }) {
      const box = byId("area-named");
      box.hidden = area !== null && area !== undefined;
      if (!box.hidden) box.querySelector("ul.places").replaceChildren(...places.map(placeItem));
    }

    /* The CAP panel is the server's: a newer CAP message in the chain fetches it afresh. */
    async function syncCap() {
      const source = [...state.chain].reverse().find((message) => message.cap);
      const wanted = source ? source.id : "";
      const panel = byId("cap");
      if (panel.dataset.message === wanted || capView.asked.has(wanted)) return;
      capView.asked.add(wanted);
      const response = await fetch(location.pathname, { credentials: "same-origin" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
        .getElementById("cap");
      if (!fresh) return;
      const shown = panel.querySelector(`#cap-info-${capView.info}`);
      const added = document.importNode(fresh, true);
      panel.replaceWith(added);
      Vigil.localiseTimes(added);
      wireCap();
      const blocks = [...added.querySelectorAll(".cap-info")];
      const same = shown ? blocks.findIndex((b) => b.dataset.language === shown.dataset.language) : -1;
      chooseInfo(Math.max(same, 0));
    }

    function wireCap() {
      for (const button of byId("cap").querySelectorAll("button[data-info]")) {
        button.addEventListener("click", () => {
          chooseInfo(Number(button.dataset.info));
          if (state.chain.length) draw();
        });
      }
    }

    /* Show one language of the CAP message, in the panel and, when that message is the
     * latest, in the alert's head too. */
    function chooseInfo(index) {
      const panel = byId("cap");
      capView.info = index;
      for (const button of panel.querySelectorAll("button[data-info]")) {
        button.setAttribute("aria-pressed", String(Number(button.dataset.info) === index));
      }
      for (const block of panel.querySelectorAll(".cap-info")) {
        block.hidden = block.id !== `cap-info-${index}`;
      }
    }

    function textsOf(latest) {
      const ours = byId("cap").dataset.message === latest.id && latest.cap;
      const info = ours && capView.info > 0 ? (latest.cap.infos || [])[capView.info] : null;
      return info || latest;
    }

    function drawHead({ chain, status, state: incident, overdue, deadline }) {
      const original = chain[0];
      const latest = chain[chain.length - 1];
      byId("badges").replaceChildren(Vigil.tlpBadge(latest.tlp), " ",
        badge(latest.severity, Vigil.severityClass(latest.severity)), " ",
        badge(`${latest.urgency} · ${latest.certainty}`));
      const words = textsOf(latest);
      root.querySelector(".alert-head").lang = words.language || "";
      byId("headline").textContent = words.headline;
      document.title = `${words.headline} · Vigil`;
      byId("status").textContent = status;
      byId("event").textContent = words.event;
      const areaName = byId("area-name");
      areaName.textContent = latest.area_name || areaName.dataset.unnamed;
      byId("sent").replaceChildren(original.sent ? timeNode(original.sent) : "not yet");
      byId("expires").replaceChildren(latest.expires ? timeNode(latest.expires) : "no expiry");
      const due = original.sent && original.ack_within_s
        ? new Date(new Date(original.sent).getTime() + original.ack_within_s * 1000).toISOString() : null;
      byId("deadline").replaceChildren(due ? timeNode(due)
        : original.ack_within_s ? `${Math.round(original.ack_within_s / 60)} min after sending`
          : "no deadline");
      byId("description").textContent = words.description;
      byId("instruction").textContent = words.instruction;
      const late = byId("overdue");
      late.hidden = !overdue.length;
      if (overdue.length) {
        late.replaceChildren(el("strong", {}, "Answer deadline passed"), " (", timeNode(deadline), "): ",
          `${overdue.length} organisation${overdue.length === 1 ? " has" : "s have"} not answered: `,
          overdue.map(nameOf).join(", "), ".");
      }
      const actions = byId("actions");
      if (actions) {
        const open = original.status === "published" && incident !== "cancelled";
        for (const part of actions.querySelectorAll("details")) part.hidden = !open;
        actions.querySelector(".hint").textContent = open
          ? "Every change goes to everyone this alert reached, as a new message referencing the original."
          : `This alert is ${status.toLowerCase()}: it can no longer be changed.`;
      }
    }

    function reportLabel(report) {
      const who = report.organisation_id ? nameOf(report.organisation_id) : "A partner";
      return `${who}, ${when(report.created)}`;
    }

    function reportBody(report) {
      const description = `Photo from ${reportLabel(report)}${report.text ? `: ${report.text}` : ""}`;
      return [
        el("p", { class: "report-text" }, report.text || "(no text)"),
        el("p", { class: "hint" }, report.organisation_id ? nameOf(report.organisation_id) : "A partner",
          " · ", timeNode(report.created)),
        mediaOf(report, description),
      ];
    }

    function drawReports({ reports }) {
      byId("report-count").textContent = String(reports.length);
      const list = byId("reports");
      if (!reports.length) {
        list.replaceChildren(el("li", { class: "muted" }, "No field reports yet."));
        return;
      }
      list.replaceChildren(...reports.slice().reverse().map((report) => el("li", { class: "report" },
        ...reportBody(report),
        el("p", { class: "hint" }, `At ${report.lat.toFixed(5)}, ${report.lon.toFixed(5)} `,
          map ? el("button", { type: "button", class: "secondary",
            onclick: () => map.show(report.id) }, "Show on map") : null))));
      if (map) {
        for (const report of reports) {
          map.pin(report, `Field report: ${reportLabel(report)}`,
            () => el("div", { class: "popup" }, ...reportBody(report)));
        }
      }
    }

    function answersByOrganisation() {
      const orgs = new Map();
      for (const d of state.deliveries) {
        if (d.organisation_id) orgs.set(d.organisation_id, null);
      }
      for (const ack of state.acks) {
        const held = orgs.get(ack.organisation_id);
        if (!held || held.updated < ack.updated) orgs.set(ack.organisation_id, ack);
      }
      return orgs;
    }

    function drawAcks() {
      const rank = (ack) => (!ack ? 1 : ack.status === "need_help" ? 0 : 2);
      const rows = [...answersByOrganisation()]
        .sort(([a, x], [b, y]) => rank(x) - rank(y) || nameOf(a).localeCompare(nameOf(b)))
        .map(([orgId, ack]) => el("tr", { class: ack ? `answer-${ack.status}` : "answer-waiting" },
          el("th", { scope: "row" }, nameOf(orgId)),
          el("td", {}, ack ? badge(ANSWERS[ack.status] || ack.status, `answer ${ack.status}`)
            : badge("Waiting", "answer waiting")),
          el("td", {}, ack ? timeNode(ack.updated) : "—"),
          el("td", {}, ack ? ack.note : "")));
      replaceRows(byId("acks").tBodies[0], rows, "This alert has not reached any organisation yet.", 4);
    }

    function drawDeliveries({ deliveries }) {
      const counts = {};
      const channels = [...new Set([...CHANNELS, ...deliveries.map((d) => d.channel)])];
      for (const channel of channels) counts[channel] = Object.fromEntries(STATUSES.map((s) => [s, 0]));
      for (const d of deliveries) counts[d.channel][d.status] = (counts[d.channel][d.status] || 0) + 1;
      const bad = (status) => status === "failed" || status === "dead";
      const cell = (n, status) => el("td", { class: n && bad(status) ? "bad" : "" }, String(n));
      const grid = channels.map((channel) => el("tr", {}, el("th", { scope: "row" }, channel),
        ...STATUSES.map((s) => cell(counts[channel][s], s)),
        el("td", {}, String(STATUSES.reduce((sum, s) => sum + counts[channel][s], 0)))));
      grid.push(el("tr", { class: "total" }, el("th", { scope: "row" }, "All channels"),
        ...STATUSES.map((s) => cell(deliveries.filter((d) => d.status === s).length, s)),
        el("td", {}, String(deliveries.length))));
      byId("delivery-grid").tBodies[0].replaceChildren(...grid);
      byId("delivery-count").textContent = String(deliveries.length);
      replaceRows(byId("deliveries").tBodies[0], deliveries.map((d) => el("tr", {},
        el("td", {}, d.message, d.reason === "escalation" ? " (escalation)" : ""),
        el("td", {}, nameOf(d.organisation_id)), el("td", {}, d.channel),
        el("td", { class: "recipient" }, d.recipient), el("td", {}, d.status),
        el("td", {}, String(d.attempts)), el("td", {}, d.last_error || ""),
        el("td", {}, d.delivered_at ? timeNode(d.delivered_at) : ""))), "No deliveries yet.", 8);
    }

    /* Each organisation's answer deadline: waiting, answered in time, or fired to its
     * secondary contacts (to whom, on which channel, delivered or not), and "no working
     * channel" when none of them could be reached. */
    function drawEscalations({ escalations }) {
      const outcome = (timer) => {
        if (timer.status === "pending") {
          return timer.overdue ? badge("Overdue: firing", "answer need_help") : ["Waiting until ", timeNode(timer.due)];
        }
        const at = timer.settled ? [" ", timeNode(timer.settled)] : [];
        if (timer.status === "cancelled") {
          const why = { expired: "Not sent: the alert had expired",
            cancel: "Stopped: the alert was cancelled" }[timer.settled_by] || "Answered in time";
          return [why, ...at];
        }
        return ["Fired", ...at];
      };
      const sentTo = (timer) => {
        if (timer.no_working_channel) {
          return badge("No working channel: no secondary contact could be reached", "answer need_help");
        }
        if (!timer.deliveries.length) return "—";
        return el("ul", { class: "plain escalated" }, ...timer.deliveries.map((d) => el("li", {},
          `${d.recipient} (${d.channel}): `, el("span", { class: d.status === "failed" || d.status === "dead" ? "bad" : "" },
            d.status), d.last_error ? ` — ${d.last_error}` : "")));
      };
      byId("escalations").hidden = !escalations.length;
      byId("escalations-none").hidden = Boolean(escalations.length);
      byId("escalations").tBodies[0].replaceChildren(...escalations.map((timer) => el("tr",
        { class: timer.no_working_channel || timer.overdue ? "escalation-bad" : "" },
        el("th", { scope: "row" }, nameOf(timer.organisation_id)),
        el("td", {}, timeNode(timer.due)), el("td", {}, outcome(timer)),
        el("td", {}, sentTo(timer)))));
    }

    function drawChain(chain) {
      byId("chain").replaceChildren(...chain.map((message) => el("li", {},
        el("strong", {}, messageLabel(message)), " · ",
        message.sent ? timeNode(message.sent) : "not sent", " · ", message.headline, " · ",
        el("a", { href: `/api/v1/alerts/${message.id}/cap` }, "CAP XML"))));
    }

    function drawSummary() {
      const answers = [...answersByOrganisation().values()];
      const answered = answers.filter(Boolean);
      const help = answered.filter((ack) => ack.status === "need_help").length;
      const out = state.deliveries.filter((d) => d.status === "sent" || d.status === "delivered").length;
      const failed = state.deliveries.filter((d) => d.status === "failed" || d.status === "dead").length;
      const escalated = new Set(state.deliveries.filter((d) => d.reason === "escalation")
        .map((d) => d.organisation_id)).size;
      const parts = [`${answered.length} of ${answers.length} organisations acknowledged`];
      if (help) parts.push(`${help} need${help === 1 ? "s" : ""} help`);
      parts.push(`${out} of ${state.deliveries.length} deliveries sent`
        + (failed ? `, ${failed} failed` : ""));
      if (escalated) parts.push(`${escalated} escalated`);
      parts.push(`${state.reports.length} field report${state.reports.length === 1 ? "" : "s"}`);
      const text = `${statusOf(state.incident)}: ${parts.join("; ")}.`;
      const summary = byId("summary");
      if (summary.textContent !== text) summary.textContent = text;  // speak only on change
    }

    wireCap();
    const withdraw = byId("withdraw");
    if (withdraw) {
      withdraw.addEventListener("click", async () => {
        if (!window.confirm("Withdraw this alert? It will never be sent.")) return;
        withdraw.disabled = true;
        try {
          await api("POST", `/alerts/${alertId}/withdraw`);
          window.location.reload();
        } catch (error) {
          const problem = byId("withdraw-error");
          problem.textContent = `Not withdrawn: ${error.message}`;
          problem.hidden = false;
          withdraw.disabled = false;
        }
      });
    }
    const refresh = poller(tick, POLL_MS);
    if (byId("actions")) revisions(() => state.chain, refresh);
  }

  /* The publisher's forms: update, all clear, cancel. */
  function revisions(chainOf, refresh) {
    const problem = byId("action-error");
    const done = byId("action-done");
    const latest = () => { const chain = chainOf(); return chain[chain.length - 1]; };
    const form = byId("update-form");

    function localInput(iso) {
      if (!iso) return "";
      const moment = new Date(iso);
      const pad = (n) => String(n).padStart(2, "0");
      return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}`
        + `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
    }

    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) byId("update-expires-hint").textContent = `In your own time zone (${zone}).`;
    byId("update").addEventListener("toggle", () => {
      if (!byId("update").open || !latest()) return;
      const message = latest();
      for (const name of ["headline", "description", "instruction", "severity"]) {
        form.elements[name].value = message[name];
      }
      form.elements.expires.value = localInput(message.expires);
      form.elements.expires.dataset.was = form.elements.expires.value;
    });

    async function send(action, body, sourceForm, what) {
      problem.hidden = true;
      done.hidden = true;
      const button = sourceForm.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const result = await api("POST", `/alerts/${chainOf()[0].id}/${action}`, body);
        sourceForm.closest("details").open = false;
        done.textContent = `${what} sent to ${result.targets.organisations} organisations `
          + `and ${result.targets.contacts} contacts.`;
        done.hidden = false;
        done.focus();
        refresh();
      } catch (error) {
        if (error instanceof Vigil.ApiError) Vigil.showErrors(sourceForm, error, problem);
        else { problem.textContent = error.message; problem.hidden = false; problem.focus(); }
      } finally {
        button.disabled = false;
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const message = latest();
      const body = {};
      for (const name of ["headline", "description", "instruction", "severity"]) {
        if (form.elements[name].value !== message[name]) body[name] = form.elements[name].value;
      }
      const expires = form.elements.expires;
      if (expires.value && expires.value !== expires.dataset.was) {
        const moment = new Date(expires.value);
        body.expires = Number.isNaN(moment.getTime()) ? expires.value : moment.toISOString();
      }
      send("update", body, form, "Update");
    });

    byId("all-clear-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const headline = latest().headline.replace(/^ALL CLEAR: /, "");
      send("update", {
        headline: (ALL_CLEAR + headline).slice(0, 200), severity: "Minor", urgency: "Past",
        // The old description's urgency no longer applies: the all clear says what is true now.
        description: "The police have given the all clear: the threat is over.",
        instruction: "The threat is over. Resume normal activity.",
      }, event.target, "All clear");
    });

    byId("cancel-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const note = event.target.elements.note.value.trim();
      send("cancel", note ? { note } : {}, event.target, "Cancel");
    });
  }

  /* The approval queue: the server renders each held alert; new ones are fetched the same way. */
  function approvals(queue) {
    const status = byId("queue-status");

    function wire(item) {
      const area = item.querySelector(".map[data-area]");
      if (area && window.L) {
        const view = Vigil.map(area, { zoomControl: false, keyboard: false, dragging: false });
        const layer = Vigil.areaLayer(JSON.parse(area.dataset.area)).addTo(view);
        try { view.fitBounds(layer.getBounds(), { maxZoom: 17 }); } catch (error) { /* empty */ }
      }
      Vigil.localiseTimes(item);
      const problem = item.querySelector("p.error");
      const id = item.dataset.alert;
      async function decide(action, body, button) {
        problem.hidden = true;
        button.disabled = true;
        try {
          const result = await api("POST", `/alerts/${id}/${action}`, body);
          item.classList.add("decided");
          const words = action === "approve"
            ? `Approved and sent to ${result.targets.organisations} organisations, `
              + `${result.targets.contacts} contacts and ${result.targets.residents} residents.`
            : "Rejected: it will not be sent.";
          const note = el("p", { class: "notice", tabindex: "-1" }, words, " ",
            el("a", { href: `/alerts/${id}` }, "Open its dashboard"));
          item.querySelector("article").replaceChildren(
            el("h2", {}, item.dataset.headline), note);
          note.focus();
        } catch (error) {
          problem.textContent = error.message;
          problem.hidden = false;
          problem.focus();
          button.disabled = false;
        }
      }
      item.querySelector("[data-approve]").addEventListener("click", (event) => {
        const { severity, tlp } = item.dataset;
        if (severity === "Extreme" || tlp === "TLP:RED") {
          const reach = item.querySelector(".reach");
          const why = [severity === "Extreme" ? "Extreme" : null,
            tlp === "TLP:RED" ? "TLP:RED" : null].filter(Boolean).join(" and ");
          if (!window.confirm(`Approve and send this ${why} alert to ${reach ? reach.textContent
            : "everyone in its area"}?`)) return;
        }
        decide("approve", undefined, event.target);
      });
      item.querySelector("form[data-reject]").addEventListener("submit", (event) => {
        event.preventDefault();
        const note = event.target.elements.note.value.trim();
        if (!note) {
          Vigil.showErrors(event.target,
            { message: "Give a reason for rejecting.", fields: { note: "is required" } }, problem);
          return;
        }
        decide("reject", { note }, event.target.querySelector("button"));
      });
    }

    function count() {
      const waiting = queue.querySelectorAll("li[data-alert]:not(.decided)").length;
      const text = `${waiting} waiting.`;
      if (status.textContent !== text) status.textContent = text;
      byId("queue-empty").hidden = queue.querySelector("li[data-alert]") !== null;
    }

    async function tick() {
      let fresh;
      try {
        const response = await fetch(location.pathname, { credentials: "same-origin" });
        if (!response.ok) return;
        fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("queue");
      } catch (error) {
        return;  // offline for a moment: the next poll tries again
      }
      if (!fresh) return;
      const held = new Set([...fresh.querySelectorAll("li[data-alert]")].map((li) => li.dataset.alert));
      for (const item of queue.querySelectorAll("li[data-alert]:not(.decided)")) {
        if (!held.has(item.dataset.alert)) item.remove();  // decided by someone else
      }
      for (const item of fresh.querySelectorAll("li[data-alert]")) {
        if (byId(item.id)) continue;
        const added = document.importNode(item, true);
        queue.append(added);
        wire(added);
      }
      count();
    }

    queue.querySelectorAll("li[data-alert]").forEach(wire);
    count();
    poller(tick, QUEUE_POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const board = byId("dashboard");
    if (board) dashboard(board);
    const queue = document.querySelector("[data-approvals]");
    if (queue) approvals(queue);
  });
})();
