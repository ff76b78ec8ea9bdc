// The situation map: places drawn by their coordinates and coloured by who controls them, a
// day-by-day slider over the reports (`at`), what had been reported by then (`known_at`), and
// live updates from /v1/stream. Plain JS, no build step, nothing loaded from elsewhere.
// Every string from the API reaches the page as text (textContent), never as markup.
"use strict";

(() => {
  // The SVG namespace, taken from the page's own <svg> (parsed into it by the HTML parser).
  const SVG = document.getElementById("map").namespaceURI;
  const WIDTH = 1000;
  const HEIGHT = 700;
  const PAD = 60;
  const PALETTE = [
    "#c0392b", "#2e86c1", "#f39c12", "#27ae60", "#8e44ad", "#16a085",
    "#d35400", "#2c3e50", "#e84393", "#7f8c00", "#6d4c41", "#00838f",
  ];
  const NOBODY = "#b3b9be";
  const STATUS_HELP = {
    held: "held: the controller holds it, unchallenged",
    partial: "partial: the controller holds most of it; parts are held by others",
    disputed: "disputed: sources disagree about who holds it",
    contested: "contested: fighting for it is reported",
    unknown: "unknown: nobody has reported who holds it",
  };
  const KIND_RANK = { region: 0, city: 1, town: 1 };

  const $ = (id) => document.getElementById(id);
  const state = {
    days: [],        // the days the slider steps through, "YYYY-MM-DD"
    at: null,        // null: latest
    knownAt: null,   // null: now
    places: [],      // GeoJSON features
    selected: null,  // place id
    colours: new Map(),
    loads: 0,
    token: 0,
  };

  // ---- small DOM helpers: text only --------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      // Styles through the object model: the page's policy refuses style attributes.
      else if (name === "style") Object.assign(node.style, value);
      else node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function safeLink(url, text) {
    // Only web links: a javascript: or data: URL from a report must not become clickable.
    if (typeof url === "string" && /^https?:\/\//i.test(url)) {
      return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text);
    }
    return el("span", {}, text);
  }

  // ---- the API -----------------------------------------------------------------------------

  function query(extra) {
    const params = new URLSearchParams(extra || {});
    if (state.at) params.set("at", state.at);
    if (state.knownAt) params.set("known_at", state.knownAt);
    return params;
  }

  async function getJSON(path, params) {
    const url = params && [...params].length ? `${path}?${params}` : path;
    const answer = await fetch(url, { headers: { Accept: "application/json" } });
    if (!answer.ok) {
      let detail = `${answer.status} ${answer.statusText}`;
      try {
        const problem = await answer.json();
        if (problem && problem.detail) detail = problem.detail;
      } catch (_) { /* not problem+json */ }
      throw new Error(`${url}: ${detail}`);
    }
    return answer.json();
  }

  async function allPlaces(params) {
    const features = [];
    let cursor = null;
    let body;
    do {
      const page = new URLSearchParams(params);
      page.set("format", "geojson");
      page.set("limit", "1000");
      if (cursor) page.set("cursor", cursor);
      body = await getJSON("v1/places", page);
      features.push(...body.features);
      cursor = body.next_cursor;
    } while (cursor);
    return { features, freshness: body.freshness, asked: body.asked };
  }

  // ---- colours and symbols -------------------------------------------------------------------

  function colourOf(actor) {
    if (!actor) return NOBODY;
    if (!state.colours.has(actor.id)) {
      state.colours.set(actor.id, PALETTE[state.colours.size % PALETTE.length]);
    }
    return state.colours.get(actor.id);
  }

  function hatchId(colour) {
    return `hatch-${colour.slice(1)}`;
  }

  function ensureHatch(defs, colour) {
    const id = hatchId(colour);
    if (!defs.querySelector(`#${id}`)) {
      defs.append(svg("pattern", {
        id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)",
      }, svg("rect", { width: 6, height: 6, fill: "#fff" }),
      svg("rect", { width: 3, height: 6, fill: colour })));
    }
    return `url(#${id})`;
  }

  // One place's symbol: a disc in the controller's colour; `partial` adds a dashed ring,
  // `disputed` hatches the disc, `contested` crosses it, `unknown` is hollow.
  function symbol(defs, status, colour, radius) {
    const group = svg("g", { class: `symbol ${status}` });
    let fill = colour;
    if (status === "disputed") fill = ensureHatch(defs, colour);
    if (status === "unknown") fill = "#fff";
    group.append(svg("circle", {
      class: "marker", r: radius, fill,
      stroke: status === "unknown" ? NOBODY : "#1d2327", "stroke-width": 1.5,
    }));
    if (status === "partial") {
      group.append(svg("circle", {
        r: radius + 4, fill: "none", stroke: colour, "stroke-width": 2.5, "stroke-dasharray": "4 3",
      }));
    }
    if (status === "contested") {
      // Crossed: fighting is reported for it.
      const d = radius + 3;
      group.append(svg("path", {
        d: `M${-d},${-d}L${d},${d}M${-d},${d}L${d},${-d}`,
        stroke: "#1d2327", "stroke-width": 2.5, "stroke-linecap": "round",
      }));
    }
    return group;
  }

  // ---- the map -----------------------------------------------------------------------------

  function located(features) {
    return features.filter((f) => f.geometry && f.geometry.type === "Point");
  }

  // Equirectangular, fitted to the places shown: x = lon·cos(mid latitude), y = -lat.
  function projection(features) {
    let [west, east, south, north] = [180, -180, 90, -90];
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates;
      west = Math.min(west, lon); east = Math.max(east, lon);
      south = Math.min(south, lat); north = Math.max(north, lat);
    }
    if (!features.length) [west, east, south, north] = [35, 43, 32, 38];
    const minSpan = 0.5;
    if (east - west < minSpan) { const c = (east + west) / 2; west = c - minSpan / 2; east = c + minSpan / 2; }
    if (north - south < minSpan) { const c = (north + south) / 2; south = c - minSpan / 2; north = c + minSpan / 2; }
    const k = Math.cos(((north + south) / 2) * Math.PI / 180);
    const scale = Math.min((WIDTH - 2 * PAD) / ((east - west) * k), (HEIGHT - 2 * PAD) / (north - south));
    const cx = (west + east) / 2;
    const cy = (south + north) / 2;
    const project = (lon, lat) => [
      WIDTH / 2 + (lon - cx) * k * scale,
      HEIGHT / 2 - (lat - cy) * scale,
    ];
    project.bounds = {
      west: cx - WIDTH / 2 / (k * scale), east: cx + WIDTH / 2 / (k * scale),
      south: cy - HEIGHT / 2 / scale, north: cy + HEIGHT / 2 / scale,
    };
    return project;
  }

  function graticule(project) {
    const { west, east, south, north } = project.bounds;
    const span = Math.max(east - west, north - south);
    const step = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20].find((s) => span / s <= 12) || 30;
    const group = svg("g", { "aria-hidden": "true" });
    const decimals = step < 1 ? 2 : 0;
    for (let lon = Math.ceil(west / step) * step; lon <= east; lon += step) {
      const [x] = project(lon, 0);
      group.append(svg("line", { class: "graticule", x1: x, x2: x, y1: 0, y2: HEIGHT }));
      group.append(svg("text", { class: "graticule-label", x: x + 3, y: HEIGHT - 6 }, `${lon.toFixed(decimals)}°E`));
    }
    for (let lat = Math.ceil(south / step) * step; lat <= north; lat += step) {
      const [, y] = project(0, lat);
      group.append(svg("line", { class: "graticule", x1: 0, x2: WIDTH, y1: y, y2: y }));
      group.append(svg("text", { class: "graticule-label", x: 4, y: y - 3 }, `${lat.toFixed(decimals)}°N`));
    }
    return group;
  }

  function radiusOf(place) {
    if (place.kind === "region") return 11;
    if (place.kind === "city" || place.kind === "town") return 9;
    return 6;
  }

  function drawMap() {
    const map = clear($("map"));
    const defs = svg("defs");
    map.append(defs);
    const shown = located(state.places);
    const project = projection(shown);
    map.append(svg("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: "#eef1f3" }));
    map.append(graticule(project));
    const ordered = shown.slice().sort((a, b) => rank(a) - rank(b));
    const markers = svg("g");
    const labels = svg("g");
    const taken = [];
    for (const feature of ordered) {
      const view = feature.properties;
      const place = view.place;
      const [x, y] = project(...feature.geometry.coordinates);
      const radius = radiusOf(place);
      const colour = colourOf(view.controller);
      const title = `${place.name}: ${view.controller ? view.controller.name : "nobody reported"} (${view.status})`;
      const group = svg("g", {
        class: `place${state.selected === place.id ? " selected" : ""}`,
        transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
        tabindex: 0, role: "button",
        "data-id": place.id, "data-name": place.name,
        "data-controller": view.controller ? view.controller.name : "",
        "data-controller-id": view.controller ? view.controller.id : "",
        "data-status": view.status,
        "aria-label": title,
      }, svg("title", {}, title), symbol(defs, view.status, colour, radius));
      group.addEventListener("click", () => select(place.id));
      group.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(place.id); }
      });
      markers.append(group);
      const label = placeLabel(place, x, y, radius, taken);
      if (label) labels.append(label);
    }
    map.append(markers, labels);
    const message = $("map-message");
    message.hidden = shown.length > 0;
    message.textContent = shown.length ? "" : "No place with coordinates has been reported for this moment.";
  }

  function rank(feature) {
    const kind = feature.properties.place.kind;
    return kind in KIND_RANK ? KIND_RANK[kind] : 2;
  }

  // Labels right of the marker, or left; one that would overlap another is left out (the
  // marker's tooltip and the panel still name it).
  function placeLabel(place, x, y, radius, taken) {
    const minor = rankOfKind(place.kind) === 2;
    const size = minor ? 11 : 13;
    const width = place.name.length * size * 0.56;
    for (const side of [1, -1]) {
      const left = side > 0 ? x + radius + 5 : x - radius - 5 - width;
      const box = { left, right: left + width, top: y - size * 0.8, bottom: y + size * 0.4 };
      if (box.left < 0 || box.right > WIDTH) continue;
      if (taken.some((b) => b.left < box.right && box.left < b.right && b.top < box.bottom && box.top < b.bottom)) continue;
      taken.push(box);
      return svg("text", {
        class: `label${minor ? " minor" : ""}`, x: left, y: y + size * 0.35,
      }, place.name);
    }
    return null;
  }

  function rankOfKind(kind) {
    return kind in KIND_RANK ? KIND_RANK[kind] : 2;
  }

  function drawLegend() {
    const legend = clear($("legend"));
    const actors = new Map();
    for (const f of state.places) {
      const c = f.properties.controller;
      if (c && !actors.has(c.id)) actors.set(c.id, c);
    }
    const controllers = el("div", { class: "group" }, el("strong", {}, "Controlled by"));
    for (const actor of [...actors.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      controllers.append(legendItem("held", colourOf(actor), actor.name));
    }
    controllers.append(legendItem("unknown", NOBODY, "nobody reported"));
    const statuses = el("div", { class: "group" }, el("strong", {}, "Status"));
    for (const status of ["held", "partial", "disputed", "contested"]) {
      statuses.append(legendItem(status, "#7f8c8d", STATUS_HELP[status]));
    }
    legend.append(controllers, statuses);
  }

  function legendItem(status, colour, text) {
    const icon = svg("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true" });
    const defs = svg("defs");
    icon.append(defs, symbol(defs, status, colour, 6));
    return el("span", { class: "item", "data-status": status }, icon, text);
  }

  // ---- the panel ---------------------------------------------------------------------------

  function day(value) {
    return typeof value === "string" ? value.slice(0, 10) : "";
  }

  function moment(value) {
    if (typeof value !== "string") return "";
    return value.length > 10 ? `${value.slice(0, 10)} ${value.slice(11, 16)} UTC` : value;
  }

  function actorText(actor) {
    if (!actor) return el("span", { class: "muted" }, "nobody reported");
    const shown = el("span", {}, el("span", { class: "swatch", style: { background: colourOf(actor) } }), actor.name);
    if (actor.as_reported && actor.as_reported !== actor.name) {
      shown.append(el("span", { class: "muted" }, ` (reported as “${actor.as_reported}”)`));
    }
    return shown;
  }

  function sourceItem(source) {
    const item = el("li", {}, safeLink(source.source_url, source.source));
    if (source.claimed_by) item.append(`, citing ${source.claimed_by}`);
    item.append(el("span", { class: "muted" }, ` — ${day(source.occurred_at)}, reported ${moment(source.reported_at)}`));
    return item;
  }

  function listOr(items, empty) {
    return items.length ? el("ul", {}, items) : el("p", { class: "muted" }, empty);
  }

  async function select(placeId) {
    state.selected = placeId;
    for (const node of document.querySelectorAll("#map .place")) {
      node.classList.toggle("selected", node.dataset.id === placeId);
    }
    await showPlace();
  }

  async function showPlace() {
    const panel = $("place");
    const placeId = state.selected;
    if (!placeId) { panel.hidden = true; return; }
    const token = state.token;
    const id = encodeURIComponent(placeId);
    let one; let history;
    try {
      [one, history] = await Promise.all([
        getJSON(`v1/places/${id}`, query()), getJSON(`v1/places/${id}/history`, query()),
      ]);
    } catch (error) {
      if (token !== state.token || placeId !== state.selected) return;
      clear(panel).append(el("h2", {}, placeId), el("p", { class: "muted" }, error.message));
      panel.hidden = false;
      return;
    }
    if (token !== state.token || placeId !== state.selected) return; // a newer question won
    renderPlace(panel, one.view, history.items);
  }

  // history: the first page of changes of hands, the latest first.
  function renderPlace(panel, view, history) {
    const place = view.place;
    clear(panel);
    panel.hidden = false;
    panel.dataset.placeId = place.id;
    const where = [place.kind, place.admin1, place.country].filter(Boolean).join(", ");
    panel.append(
      el("button", { class: "close", type: "button", "aria-label": "Close", onclick: () => { state.selected = null; drawMap(); showPlace(); } }, "×"),
      el("h2", {}, place.name, where ? el("span", { class: "muted" }, ` ${where}`) : null),
      el("dl", { class: "facts" },
        el("dt", {}, "Controller"), el("dd", { class: "controller" }, actorText(view.controller)),
        el("dt", {}, "Since"), el("dd", { class: "since" }, view.since || "—"),
        el("dt", {}, "Status"), el("dd", {}, el("span", { class: `status ${view.status}` }, view.status),
          el("span", { class: "muted" }, ` ${(STATUS_HELP[view.status] || "").split(": ")[1] || ""}`)),
        el("dt", {}, "Corroboration"), el("dd", { class: "corroboration" },
          `${view.corroboration} independent source${view.corroboration === 1 ? "" : "s"}`)),
    );
    if (view.reasons.length) {
      panel.append(el("h3", {}, "Why"), el("ul", { class: "reasons" }, view.reasons.map((r) => el("li", {}, r))));
    }
    panel.append(el("h3", {}, "Claims"), listOr(view.claims.map(sourceItem), "No claim behind this."));
    panel.append(el("h3", {}, "Denials"), listOr(view.denials.map((d) => el("li", {},
      actorText(d.denied_by), " denies it", d.text ? el("blockquote", {}, d.text) : null,
      el("span", { class: "muted" }, ` reported ${moment(d.reported_at)}`))), "None reported."));
    if (view.sub_places.length) {
      panel.append(el("h3", {}, "Parts"), el("ul", {}, view.sub_places.map((s) => el("li", {},
        el("a", { href: "#", class: "link-button", onclick: (e) => { e.preventDefault(); select(s.place_id); } }, s.name),
        ": ", actorText(s.controller), " ", el("span", { class: `status ${s.status}` }, s.status)))));
    }
    panel.append(el("h3", {}, "History"));
    if (!history.length) {
      panel.append(el("p", { class: "muted" }, "No change of hands reported."));
    } else {
      const rows = history.map((change) => el("tr", {},
        el("td", {}, day(change.occurred_at)),
        el("td", {}, actorText(change.controller), change.previous ? el("div", { class: "muted" }, `from ${change.previous.name}`) : null),
        el("td", {}, change.method),
        el("td", {}, el("ul", {}, change.sources.map(sourceItem),
          change.source_count > change.sources.length
            ? el("li", { class: "muted" }, `and ${change.source_count - change.sources.length} more`) : null))));
      panel.append(el("table", { class: "history" },
        el("thead", {}, el("tr", {}, el("th", {}, "When"), el("th", {}, "Who"), el("th", {}, "How"), el("th", {}, "Sources"))),
        el("tbody", {}, rows)));
      if (view.history_count > history.length) {
        panel.append(el("p", { class: "muted" }, `The latest ${history.length} of ${view.history_count} changes of hands.`));
      }
    }
    if (view.retracted_count) {
      panel.append(el("p", { class: "muted" }, `${view.retracted_count} report(s) retracted.`));
    }
  }

  function renderSituation(overview) {
    const body = clear($("situation").querySelector(".body"));
    body.append(el("h3", {}, "Who holds what"), listOr(overview.holders.map((h) => el("li", {},
      actorText(h.actor), ` — ${h.count} place${h.count === 1 ? "" : "s"}`)), "Nobody holds anything reported."));
    body.append(el("h3", {}, "Changes of hands, last 7 days"), listOr(overview.recent_changes.map((c) => el("li", {},
      `${day(c.change.occurred_at)} `,
      el("a", { href: "#", class: "link-button", onclick: (e) => { e.preventDefault(); select(c.place_id); } }, c.name),
      `: ${c.change.previous ? c.change.previous.name : "?"} → ${c.change.controller ? c.change.controller.name : "nobody"}`,
      el("span", { class: "muted" }, ` (${c.change.method})`))), "None."));
    body.append(el("h3", {}, "Disputed or contested"), listOr(overview.unsettled.map((u) => el("li", {},
      el("a", { href: "#", class: "link-button", onclick: (e) => { e.preventDefault(); select(u.place_id); } }, u.name),
      " ", el("span", { class: `status ${u.status}` }, u.status),
      u.reasons.length ? el("div", { class: "muted" }, u.reasons.join("; ")) : null)), "None."));
    if (overview.casualties.length) {
      body.append(el("h3", {}, "Casualties, last 24 hours"), el("ul", {}, overview.casualties.map((c) =>
        el("li", {}, c.party ? c.party.name : "unknown party"))));
    }
  }

  function figure(f) {
    if (!f) return null;
    if (f.high === f.low) return String(f.low);
    return f.high === null ? `${f.low}+` : `${f.low}–${f.high}`;
  }

  function renderStrikes(strikes) {
    const body = clear($("strikes").querySelector(".body"));
    const latest = strikes.slice(-10).reverse();
    body.append(listOr(latest.map((s) => {
      const killed = figure(s.killed);
      return el("li", {}, `${day(s.day)} `, el("strong", {}, s.place.name), ` — ${s.means}`,
        s.perpetrator ? `, by ${s.perpetrator.name}` : "",
        s.targets.length ? `, on ${s.targets.join(", ")}` : "",
        killed ? `, ${killed} killed` : "",
        s.denials.length ? el("span", { class: "muted" }, ` (denied by ${s.denials.map((d) => d.denied_by.name).join(", ")})`) : null,
        el("ul", {}, s.sources.map(sourceItem)));
    }), "No strike reported."));
  }

  function renderStatements(statements) {
    const body = clear($("statements").querySelector(".body"));
    body.append(listOr(statements.map((s) => el("li", {},
      `${day(s.occurred_at)} `, el("strong", {}, s.speaker ? s.speaker.name : s.actor.name),
      s.speaker && s.actor && s.speaker.id !== s.actor.id ? ` for ${s.actor.name}` : "",
      el("blockquote", {}, s.text),
      el("span", { class: "muted" }, "— "), safeLink(s.source.source_url, s.source.source))), "No statement reported."));
  }

  // ---- time: the slider and known_at -------------------------------------------------------

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  // The slider's days: from the earliest change of hands (or `since`) to the latest report,
  // then one more position, "latest", which follows live updates.
  function daysOf(features, strikes) {
    const dates = [];
    for (const f of features) {
      const v = f.properties;
      if (v.since) dates.push(day(v.since));
      for (const change of v.history) {
        dates.push(day(change.occurred_at));
        for (const s of change.sources) dates.push(day(s.reported_at));
      }
      for (const c of v.claims) dates.push(day(c.reported_at));
    }
    for (const s of strikes) dates.push(day(s.day));
    const valid = dates.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
    if (!valid.length) return [];
    const days = [];
    const last = new Date(`${valid[valid.length - 1]}T00:00:00Z`);
    for (let d = new Date(`${valid[0]}T00:00:00Z`); d <= last && days.length < 20000; d.setUTCDate(d.getUTCDate() + 1)) {
      days.push(isoDay(d));
    }
    return days;
  }

  function updateSlider() {
    const slider = $("at");
    slider.max = String(state.days.length);
    const index = state.at === null ? state.days.length : Math.max(0, state.days.indexOf(state.at));
    slider.value = String(index);
    $("at-label").textContent = state.at === null ? "latest" : state.at;
    document.body.dataset.at = state.at || "latest";
  }

  async function refreshDays() {
    // The range of the data comes from the latest view, whatever moment is shown.
    const [latest, strikes] = await Promise.all([
      allPlaces(new URLSearchParams()),
      getJSON("v1/strikes", new URLSearchParams({ limit: "1000" })),
    ]);
    state.days = daysOf(latest.features, strikes.items);
    if (state.at !== null && !state.days.includes(state.at)) state.days = [...state.days, state.at].sort();
    updateSlider();
  }

  function onSlide() {
    const index = Number($("at").value);
    state.at = index >= state.days.length ? null : state.days[index];
    updateSlider();
    refresh();
  }

  function step(by) {
    const slider = $("at");
    const index = Math.min(state.days.length, Math.max(0, Number(slider.value) + by));
    slider.value = String(index);
    onSlide();
  }

  function onKnownAt() {
    const value = $("known-at").value;
    // datetime-local has no offset; the label says UTC, so the API is asked in UTC.
    state.knownAt = value ? `${value.length === 16 ? `${value}:00` : value}Z` : null;
    refresh();
  }

  // ---- loading -----------------------------------------------------------------------------

  async function refresh() {
    const token = ++state.token;
    document.body.dataset.state = "loading";
    try {
      const until = state.at ? { until: state.at } : {};
      const [places, overview, strikes, statements] = await Promise.all([
        allPlaces(query()),
        getJSON("v1/situation", query()),
        getJSON("v1/strikes", query({ limit: "1000", ...until })),
        getJSON("v1/statements", query({ limit: "10" })),
      ]);
      if (token !== state.token) return; // the controls moved on meanwhile
      state.places = places.features;
      drawMap();
      drawLegend();
      renderSituation(overview.view);
      renderStrikes(strikes.items);
      renderStatements(statements.items);
      const f = places.freshness;
      $("freshness").textContent = `As at ${moment(places.asked.at)}, known at ${moment(places.asked.known_at)}; ` +
        `log position ${Object.values(f.position).reduce((a, b) => a + b, 0)}` +
        (f.behind ? `, ${f.behind} records behind` : "") + ".";
      await showPlace();
      if (token !== state.token) return;
      state.loads += 1;
      document.body.dataset.loads = String(state.loads);
      document.body.dataset.state = "ready";
    } catch (error) {
      if (token !== state.token) return;
      document.body.dataset.state = "error";
      const message = $("map-message");
      message.hidden = false;
      message.textContent = `Could not load the situation: ${error.message}`;
    }
  }

  // ---- live --------------------------------------------------------------------------------

  let pending = null;

  function follow() {
    if (!("EventSource" in window)) return;
    const live = $("live");
    const source = new EventSource("v1/stream?kind=control&kind=strikes&kind=statements");
    source.addEventListener("open", () => { live.className = "live on"; live.textContent = "live"; });
    source.addEventListener("error", () => { live.className = "live off"; live.textContent = "reconnecting"; });
    const changed = () => {
      // Only "latest, as known now" is what the stream changes; a replayed moment stays put.
      if (state.at !== null || state.knownAt !== null) {
        live.className = "live paused"; live.textContent = "live (paused: not at latest)";
        return;
      }
      live.className = "live on"; live.textContent = "live";
      clearTimeout(pending);
      pending = setTimeout(async () => {
        try { await refreshDays(); } catch (_) { /* the map still refreshes */ }
        await refresh();
      }, 300);
    };
    for (const kind of ["control", "strikes", "statements"]) source.addEventListener(kind, changed);
  }

  async function start() {
    $("at").addEventListener("input", onSlide);
    $("day-before").addEventListener("click", () => step(-1));
    $("day-after").addEventListener("click", () => step(1));
    $("known-at").addEventListener("change", onKnownAt);
    $("known-now").addEventListener("click", () => { $("known-at").value = ""; onKnownAt(); });
    const params = new URLSearchParams(location.search);
    if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("at") || "")) state.at = params.get("at");
    try {
      await refreshDays();
    } catch (error) {
      updateSlider();
    }
    await refresh();
    follow();
  }

  start();
})();
