// The e-board page: asks the unit what to show every 0.5 s (a relative URL under the kiosk's secret path) and keeps
// showing the last content while the unit does not answer. Text goes in with textContent only, never as HTML.
"use strict";

const POLL_MS = 500;
let shown = null;   // JSON of the bulletin on screen, so a restarted agent with the same content changes nothing
let zone = undefined;

function $(id) { return document.getElementById(id); }

function sizeClass(text) {
  const n = text.length;
  return n <= 60 ? "size-1" : n <= 200 ? "size-2" : n <= 600 ? "size-3" : "size-4";
}

function render(b) {
  const body = document.body;
  body.className = "";
  for (const id of ["title", "text", "ticker-text", "em-title", "em-text"]) $(id).textContent = "";
  for (const id of ["image", "em-image"]) $(id).removeAttribute("src");
  body.dataset.jti = b ? b.jti : "";
  if (!b) { body.classList.add("idle"); return; }
  body.classList.add("level-" + b.priority, "mode-" + b.mode, sizeClass(b.text || ""));
  if (b.image) { body.classList.add("has-image"); $(b.priority === "emergency" ? "em-image" : "image").src = b.image; }
  if (b.priority === "emergency") { $("em-title").textContent = b.title; $("em-text").textContent = b.text; return; }
  $("title").textContent = b.title;
  if (b.mode === "ticker") {
    $("ticker-text").textContent = b.text;
    $("ticker-text").style.animationDuration = Math.max(10, b.text.length * 0.25) + "s";
  } else {
    $("text").textContent = b.text;
  }
}

function tick() {
  const now = new Date();
  const time = new Intl.DateTimeFormat("vi-VN", {timeZone: zone, hour: "2-digit", minute: "2-digit",
                                                  second: "2-digit", hourCycle: "h23"}).format(now);
  const date = new Intl.DateTimeFormat("vi-VN", {timeZone: zone, weekday: "long", day: "2-digit",
                                                  month: "2-digit", year: "numeric"}).format(now);
  for (const id of ["clock", "idle-clock", "em-clock"]) $(id).textContent = time;
  $("date").textContent = date;
}

async function poll() {
  try {
    const answer = await fetch("state", {cache: "no-store"});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    const state = await answer.json();
    zone = state.tz || undefined;
    const next = JSON.stringify(state.showing);
    if (next !== shown) { render(state.showing); shown = next; tick(); }
    document.body.classList.remove("offline");
  } catch (e) {
    document.body.classList.add("offline");  // keep what is on screen: the last content survives a lost link
  }
  document.documentElement.dataset.ready = "1";
  setTimeout(poll, POLL_MS);
}

tick();
setInterval(tick, 1000);
poll();
