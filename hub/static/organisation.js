/* Organisation administration: sites on a map, contacts by tier, API tokens.
 * Everything goes through the JSON API (Vigil.api); nothing from the server is parsed as HTML. */
"use strict";
(function () {
  const { api, el, showErrors, announce, when } = window.Vigil;
  const root = document.getElementById("organisation");
  if (!root) return;
  const orgId = root.dataset.organisation;
  const orgPath = `/organisations/${encodeURIComponent(orgId)}`;
  const byId = (id) => document.getElementById(id);
  const state = { sites: [], contacts: [], tokens: [], editing: null };

  /* The page's aria-live status line; failures are shown in the error style. */
  const status = byId("status");
  function say(message, failed) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(failed));
    status.classList.toggle("notice", !failed);
    status.hidden = false;
  }
  const fail = (error) => say(error.message, true);

  /* A destructive button asks once more: the first press arms it for a few seconds. */
  function confirming(label, armedLabel, subject, action) {
    let armed = null;
    const named = (text) => `${text}: ${subject}`;
    const button = el("button", { type: "button", class: "danger", "aria-label": named(label) }, label);
    const disarm = () => {
      clearTimeout(armed);
      armed = null;
      button.textContent = label;
      button.setAttribute("aria-label", named(label));
    };
    button.addEventListener("click", async () => {
      if (!armed) {
        button.textContent = armedLabel;
        button.setAttribute("aria-label", named(armedLabel));
        armed = setTimeout(disarm, 5000);
        announce(`${named(armedLabel)}? Press the button again to confirm.`);
        return;
      }
      disarm();
      button.disabled = true;
      try {
        await action();
      } catch (error) {
        fail(error);
        button.disabled = false;
      }
    });
    return button;
  }

  /* ---- sites ---- */
  const siteForm = byId("site-form");
  const latInput = byId("site-lat");
  const lonInput = byId("site-lon");
  const map = Vigil.map(byId("site-map"), {});
  const siteLayer = L.featureGroup().addTo(map);
  let placed = null; // the marker of the site being added

  const coordinate = (text) => {
    const trimmed = text.trim();
    if (trimmed === "") return null;
    const value = Number(trimmed.replace("\u2212", "-"));
    return Number.isFinite(value) ? value : trimmed; // the API names a bad value
  };

  function place(lat, lon) {
    if (typeof lat !== "number" || typeof lon !== "number") return;
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return;
    if (!placed) {
      placed = L.circleMarker([lat, lon], { radius: 9, color: "#8a5a00", dashArray: "4 3", weight: 3 })
        .bindTooltip("New site").addTo(map);
    } else {
      placed.setLatLng([lat, lon]);
    }
  }

  map.on("click", (event) => {
    const lat = Number(event.latlng.lat.toFixed(6));
    const lon = Number(event.latlng.lng.toFixed(6));
    latInput.value = String(lat);
    lonInput.value = String(lon);
    place(lat, lon);
    byId("site-name").focus();
    announce(`New site placed at ${lat}, ${lon}. Give it a name and add it.`);
  });
  for (const input of [latInput, lonInput]) {
    input.addEventListener("input", () => place(coordinate(latInput.value), coordinate(lonInput.value)));
  }

  function renderSites() {
    siteLayer.clearLayers();
    const list = byId("site-list");
    list.replaceChildren();
    if (!state.sites.length) list.append(el("li", { class: "muted" }, "No sites yet: this organisation receives no alerts by area."));
    for (const site of state.sites) {
      L.circleMarker([site.lat, site.lon], { radius: 8, color: "#0b4f8a", weight: 3, fillOpacity: 0.6 })
        .bindTooltip(el("span", { text: site.name })).addTo(siteLayer);  // never as HTML
      list.append(el("li", { class: "site" },
        el("span", {}, el("strong", {}, site.name), ` ${site.lat.toFixed(5)}, ${site.lon.toFixed(5)}`),
        confirming("Remove", "Confirm removal", `site ${site.name}`, () => removeSite(site))));
    }
    if (state.sites.length) map.fitBounds(siteLayer.getBounds(), { maxZoom: 16, padding: [30, 30] });
  }

  async function removeSite(site) {
    await api("DELETE", `/sites/${encodeURIComponent(site.id)}`);
    state.sites = state.sites.filter((s) => s.id !== site.id);
    renderSites();
    say(`Site ${site.name} removed.`);
  }

  siteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: byId("site-name").value,
      lat: coordinate(latInput.value),
      lon: coordinate(lonInput.value),
    };
    try {
      const site = await api("POST", `${orgPath}/sites`, body);
      showErrors(siteForm, { fields: {} });
      byId("site-errors").hidden = true;
      siteForm.reset();
      if (placed) { placed.remove(); placed = null; }
      state.sites.push(site);
      renderSites();
      say(`Site ${site.name} added.`);
    } catch (error) {
      showErrors(siteForm, error, byId("site-errors"));
    }
  });

  /* ---- contacts ---- */
  const contactForm = byId("contact-form");
  const TIER_NAMES = { primary: "primary", secondary: "secondary" };
  // One field per channel the hub knows, as the page declares them.
  const ADDRESSES = [...contactForm.querySelectorAll("[data-address]")].map((field) => ({
    name: field.dataset.address, label: field.dataset.label, secret: "secret" in field.dataset,
    input: field.querySelector("input[name]"), clear: field.querySelector(".clear-address"),
  }));

  function contactRow(contact) {
    const other = contact.tier === "primary" ? "secondary" : "primary";
    return el("tr", { "data-contact": contact.id },
      el("th", { scope: "row" }, contact.name),
      ...ADDRESSES.map((address) => el("td", { class: address.secret ? "masked" : "", "data-label": address.label },
        contact[address.name] || "—")),
      el("td", {}, el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "aria-label": `Edit ${contact.name}`, onclick: () => edit(contact) }, "Edit"),
        el("button", { type: "button", class: "secondary", onclick: () => moveTier(contact, other) },
          `Move to ${TIER_NAMES[other]}`),
        confirming("Remove", "Confirm removal", contact.name, () => removeContact(contact)))));
  }

  function renderContacts() {
    for (const tier of ["primary", "secondary"]) {
      const body = document.querySelector(`#contacts-${tier} tbody`);
      const rows = state.contacts.filter((c) => c.tier === tier);
      body.replaceChildren(...rows.map(contactRow));
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: String(ADDRESSES.length + 2), class: "muted" }, `No ${tier} contacts.`)));
    }
    const select = byId("token-contact");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "None (the whole organisation)"),
      ...state.contacts.map((c) => el("option", { value: c.id }, c.name)));
    select.value = state.contacts.some((c) => c.id === chosen) ? chosen : "";
  }

  function replaceContact(contact) {
    state.contacts = state.contacts.map((c) => (c.id === contact.id ? contact : c));
    renderContacts();
  }

  async function moveTier(contact, tier) {
    try {
      replaceContact(await api("PATCH", `/contacts/${encodeURIComponent(contact.id)}`, { tier }));
      say(`${contact.name} moved to the ${tier} tier.`);
    } catch (error) {
      fail(error);
    }
  }

  async function removeContact(contact) {
    await api("DELETE", `/contacts/${encodeURIComponent(contact.id)}`);
    state.contacts = state.contacts.filter((c) => c.id !== contact.id);
    renderContacts();
    say(`${contact.name} removed.`);
  }

  function resetContactForm() {
    state.editing = null;
    contactForm.reset();
    showErrors(contactForm, { fields: {} });
    byId("contact-errors").hidden = true;
    byId("contact-form-heading").textContent = "Add a contact";
    byId("contact-submit").textContent = "Add contact";
    byId("contact-cancel").hidden = true;
    for (const address of ADDRESSES) {
      address.input.placeholder = "";
      if (address.clear) address.clear.hidden = true;
    }
  }

  function edit(contact) {
    resetContactForm();
    state.editing = contact;
    byId("contact-form-heading").textContent = `Edit ${contact.name}`;
    byId("contact-submit").textContent = "Save changes";
    byId("contact-cancel").hidden = false;
    byId("contact-name").value = contact.name;
    byId("contact-tier").value = contact.tier;
    byId("contact-language").value = contact.language || "";
    for (const address of ADDRESSES) {
      const stored = contact[address.name];
      if (!address.secret) {
        address.input.value = stored || "";
      } else {
        // A secret address is never sent back, only its masked form.
        address.input.placeholder = stored ? `Keep ${stored}` : "";
        address.clear.hidden = !stored;
      }
    }
    byId("contact-form-heading").focus();
  }

  byId("contact-cancel").addEventListener("click", resetContactForm);

  contactForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: byId("contact-name").value, tier: byId("contact-tier").value };
    const language = byId("contact-language").value.trim();
    try {
      let contact;
      if (state.editing) {
        body.language = language || null;
        for (const address of ADDRESSES) {
          const value = address.input.value.trim();
          if (value || !address.secret) body[address.name] = value || null;
          else if (address.clear.querySelector("input").checked) body[address.name] = null;
        }
        contact = await api("PATCH", `/contacts/${encodeURIComponent(state.editing.id)}`, body);
        replaceContact(contact);
        say(`${contact.name} saved.`);
      } else {
        for (const address of ADDRESSES) {
          const value = address.input.value.trim();
          if (value) body[address.name] = value;
        }
        if (language) body.language = language;
        contact = await api("POST", `${orgPath}/contacts`, body);
        state.contacts.push(contact);
        renderContacts();
        say(`${contact.name} added to the ${contact.tier} tier.`);
      }
      resetContactForm();
    } catch (error) {
      showErrors(contactForm, error, byId("contact-errors"));
    }
  });

  /* ---- tokens ---- */
  const tokenForm = byId("token-form");

  function tokenRow(token) {
    const contact = state.contacts.find((c) => c.id === token.contact_id);
    const label = token.label || "(no label)";
    return el("tr", { "data-token": token.id },
      el("th", { scope: "row" }, label, contact ? el("span", { class: "hint" }, ` for ${contact.name}`) : null),
      el("td", { "data-label": "Role" }, token.role),
      el("td", { "data-label": "Created" }, el("time", { datetime: token.created_at }, when(token.created_at))),
      el("td", { "data-label": "Status" }, token.revoked_at
        ? el("span", { class: "revoked" }, "Revoked ", el("time", { datetime: token.revoked_at }, when(token.revoked_at)))
        : el("span", { class: "active" }, "Active")),
      el("td", {}, token.revoked_at ? null
        : confirming("Revoke", "Confirm revoke", label, () => revoke(token))));
  }

  function renderTokens() {
    const body = document.querySelector("#tokens tbody");
    body.replaceChildren(...state.tokens.map(tokenRow));
    if (!state.tokens.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "No tokens yet.")));
  }

  async function revoke(token) {
    const done = await api("POST", `/tokens/${encodeURIComponent(token.id)}/revoke`);
    state.tokens = state.tokens.map((t) => (t.id === token.id ? Object.assign({}, t, { revoked_at: done.revoked_at }) : t));
    renderTokens();
    say(`Token ${token.label || token.role} revoked: it no longer works.`);
  }

  function showSecret(secret) {
    const box = byId("token-secret");
    byId("token-secret-value").value = secret;
    box.hidden = false;
    box.focus();
  }

  byId("token-copy").addEventListener("click", async () => {
    const input = byId("token-secret-value");
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (error) {
      input.select();
      document.execCommand("copy");
    }
    say("Token copied to the clipboard.");
  });

  byId("token-done").addEventListener("click", () => {
    byId("token-secret-value").value = "";
    byId("token-secret").hidden = true;
    say("The token's secret is no longer shown.");
  });

  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { organisation_id: orgId, role: byId("token-role").value };
    const label = byId("token-label").value.trim();
    const contact = byId("token-contact").value;
    if (label) body.label = label;
    if (contact) body.contact_id = contact;
    try {
      const issued = await api("POST", "/tokens", body);
      showErrors(tokenForm, { fields: {} });
      byId("token-errors").hidden = true;
      tokenForm.reset();
      state.tokens = await api("GET", `${orgPath}/tokens`);
      renderTokens();
      showSecret(issued.token);
      say(`Token created with the ${issued.role} role. Copy it now: it is shown only once.`);
    } catch (error) {
      showErrors(tokenForm, error, byId("token-errors"));
    }
  });

  async function load() {
    try {
      const [organisation, contacts, tokens] = await Promise.all([
        api("GET", orgPath), api("GET", `${orgPath}/contacts`), api("GET", `${orgPath}/tokens`)]);
      state.sites = organisation.sites;
      state.contacts = contacts;
      state.tokens = tokens;
      renderSites();
      renderContacts();
      renderTokens();
      root.dataset.loaded = "true";
    } catch (error) {
      fail(error);
    }
  }

  load();
})();
