// The dashboard's page: polls /api/state every second and draws it with DOM calls only (report text from the field
// is never parsed as HTML). Words come from the page's JSON data block, in the reader's language.
"use strict";
const DATA = JSON.parse(document.getElementById("words").textContent);
const W = DATA.words;
const POLL_MS = 1000;
const SVG = "http://www.w3.org/2000/svg";
let shown = -1;
let last = null;

function t(key, params) {
  let text = W[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(String(value));
  return text;
}

function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function fill(id, nodes, empty) {
  const box = document.getElementById(id);
  box.replaceChildren(...(nodes.length ? nodes : [el("li", {class: "empty"}, t(empty))]));
}

function two(n) {
  return String(n).padStart(2, "0");
}

function clock(ms, withDate) {
  if (!ms) return "–";
  const d = new Date(ms);
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return withDate ? `${two(d.getDate())}/${two(d.getMonth() + 1)} ${time}` : time;
}

function faultText(code, unit) {
  return t("dash_fault_" + code, {temp: unit.temp_c});
}

function stateOf(unit) {
  if (!unit.online) return "offline";
  return unit.faults.length ? "fault" : "ok";
}

function priority(p) {
  return el("span", {class: "prio-" + p}, t("playlog_priority_" + p));
}

function drawSummary(view) {
  const online = view.units.filter(u => u.online).length;
  const faulty = view.units.filter(u => u.faults.length).length;
  document.getElementById("summary").textContent = t("dash_summary", {units: view.units.length, online: online,
    offline: view.units.length - online, faults: faulty});
}

function drawCommunes(view) {
  fill("communes", view.communes.map(c => {
    const total = c.online.length + c.offline.length;
    const name = c.name === "?" ? t("dash_unknown_commune") : c.name;
    return el("li", {"data-commune": c.name}, el("span", {}, name),
              el("span", {class: c.offline.length ? "bad" : ""}, t("dash_commune_counts", {online: c.online.length, total: total})));
  }), "dash_no_units");
}

function drawPlaying(view) {
  fill("playing", view.playing.map(p => el("li", {"data-dev": p.dev}, priority(p.priority), " ",
       el("strong", {}, p.title || t("dash_untitled")), " — ", p.dev, " (", p.commune, ")")), "dash_nothing_playing");
}

function drawFaults(view) {
  const items = [];
  for (const u of view.units) {
    for (const code of u.faults) items.push(el("li", {"data-dev": u.dev, "data-fault": code},
                                                el("strong", {}, u.dev), ": ", faultText(code, u)));
  }
  fill("faults", items, "dash_no_faults");
}

function drawPlays(view) {
  const rows = view.plays.map(p => el("tr", {"data-dev": p.dev}, el("td", {}, clock(p.ended_ts, true)), el("td", {}, p.dev),
    el("td", {class: "title"}, p.title || t("dash_untitled")), el("td", {}, priority(p.priority)),
    el("td", {}, t("playlog_result_" + p.result)), el("td", {}, p.duration_s ?? "–")));
  const body = document.querySelector("#plays tbody");
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", {colspan: 6, class: "muted"}, t("dash_no_plays")))]));
}

function drawUnits(view) {
  const rows = view.units.map(u => {
    const state = stateOf(u);
    const label = u.online ? t("dash_online") : t("dash_offline");
    const mains = u.mains === null || u.mains === undefined ? "–" : t(u.mains ? "dash_yes" : "dash_no");
    return el("tr", {"data-dev": u.dev, "data-online": u.online, class: u.online ? "" : "offline"},
      el("td", {}, u.dev), el("td", {}, u.commune === "?" ? t("dash_unknown_commune") : u.commune),
      el("td", {}, el("span", {class: "state " + (u.online ? state === "fault" ? "fault" : "online" : "offline")}, label)),
      el("td", {}, u.temp_c ?? "–"), el("td", {}, mains), el("td", {}, clock(u.seen_ms, true)));
  });
  document.querySelector("#units tbody").replaceChildren(...rows);
}

function niceStep(span) {
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
  return steps.find(s => span / s <= 5) || 10;
}

function mapSize(svg) {
  // the drawing's units are the screen's pixels, so labels keep their size on a phone
  const w = Math.max(280, Math.round(svg.clientWidth || 800));
  return [w, Math.round(Math.max(240, Math.min(w * 0.55, 460)))];
}

function drawMap(view) {
  const svg = document.getElementById("map");
  const placed = view.units.filter(u => u.location);
  document.getElementById("map-none").hidden = placed.length > 0;
  svg.replaceChildren();
  const [w, h] = mapSize(svg), pad = 36;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("height", String(h));
  if (!placed.length) return;
  const lats = placed.map(u => u.location.lat), lons = placed.map(u => u.location.lon);
  let [south, north, west, east] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const k = Math.cos((south + north) / 2 * Math.PI / 180);  // a degree of longitude is shorter away from the equator
  const grow = Math.max(0, 0.01 - (north - south)) / 2, growX = Math.max(0, 0.01 - (east - west)) / 2;
  south -= grow; north += grow; west -= growX; east += growX;
  const scale = Math.min((w - 2 * pad) / ((east - west) * k), (h - 2 * pad) / (north - south));
  const ox = (w - (east - west) * k * scale) / 2, oy = (h - (north - south) * scale) / 2;
  const x = lon => ox + (lon - west) * k * scale, y = lat => oy + (north - lat) * scale;
  const seen = [north - (h - oy) / scale, north + oy / scale, west - ox / (k * scale), west + (w - ox) / (k * scale)];
  drawGrid(svg, w, h, seen, x, y);
  for (const u of placed) {
    const cx = x(u.location.lon), cy = y(u.location.lat);
    const tip = u.dev + " — " + (u.online ? t("dash_online") : t("dash_offline")) +
                (u.faults.length ? " — " + u.faults.map(f => faultText(f, u)).join(", ") : "");
    const g = el("svg:g", {"data-dev": u.dev, "data-state": stateOf(u), "data-online": u.online});
    if (u.playing) g.append(el("svg:circle", {cx: cx.toFixed(1), cy: cy.toFixed(1), r: 13, class: "ring"}));
    g.append(el("svg:circle", {cx: cx.toFixed(1), cy: cy.toFixed(1), r: 8, class: stateOf(u)}, el("svg:title", {}, tip)));
    const left = cx > w * 0.7;  // labels near the right edge go to the left of their point
    g.append(el("svg:text", {x: (left ? cx - 12 : cx + 12).toFixed(1), y: (cy + 4).toFixed(1), class: "unit",
                             "text-anchor": left ? "end" : "start"}, u.dev));
    svg.append(g);
  }
}

function drawGrid(svg, w, h, seen, x, y) {
  const [south, north, west, east] = seen;
  const stepLat = niceStep(north - south), stepLon = niceStep(east - west);
  const digits = v => Math.max(0, -Math.floor(Math.log10(v)));
  for (let lat = Math.ceil(south / stepLat) * stepLat; lat <= north; lat += stepLat) {
    svg.append(el("svg:line", {x1: 0, x2: w, y1: y(lat), y2: y(lat), class: "grid"}));
    svg.append(el("svg:text", {x: 4, y: y(lat) - 3, class: "grid-label"}, lat.toFixed(digits(stepLat)) + "°N"));
  }
  for (let lon = Math.ceil(west / stepLon) * stepLon; lon <= east; lon += stepLon) {
    svg.append(el("svg:line", {x1: x(lon), x2: x(lon), y1: 0, y2: h, class: "grid"}));
    if (x(lon) > w - 64) continue;  // a label cut by the edge says nothing
    svg.append(el("svg:text", {x: x(lon) + 3, y: h - 4, class: "grid-label"}, lon.toFixed(digits(stepLon)) + "°E"));
  }
}

function draw(view) {
  drawSummary(view); drawMap(view); drawCommunes(view); drawPlaying(view); drawFaults(view); drawPlays(view);
  drawUnits(view);
  shown = view.version;
  last = view;
  document.body.dataset.version = String(view.version);
}

async function poll() {
  try {
    const answer = await fetch("/api/state?since=" + shown, {cache: "no-store", credentials: "same-origin"});
    if (answer.status === 401) { window.location.href = "/login"; return; }
    if (answer.status === 200) draw(await answer.json());  // 204: nothing new since the version shown
    document.getElementById("updated").textContent = t("dash_updated", {time: clock(Date.now())});
  } catch (err) {
    document.getElementById("updated").textContent = t("dash_connection_lost");
  }
  setTimeout(poll, POLL_MS);
}

window.addEventListener("resize", () => { if (last) drawMap(last); });
poll();
