// The e-board page: asks the unit what to show every 0.5 s (a relative URL under the kiosk's secret path) and keeps
// showing the last content while the unit does not answer. Text goes in with textContent only, never as HTML.
// Videos and live streams play muted: the board's sound goes through `play`, where quiet hours, the volume cap and
// the amplifiers' power are decided. The page tells the unit when a video shown once has played to its end, or
// cannot be decoded; a live stream that drops or stalls is tried again while it is shown.
"use strict";

const POLL_MS = 500, RETRY_MS = 3000, STALL_MS = 10000;
const SNAPSHOT = location.hash === "#snapshot";  // the unit's snapshot camera renders the page but never reports
let shown = null;   // JSON of the bulletin on screen, so a restarted agent with the same content changes nothing
let zone = undefined;
let live = null;    // the live stream on screen: {v, t, since}, watched for a stall

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
  stopVideos();
  body.dataset.jti = b ? b.jti : "";
  if (!b) { body.classList.add("idle"); return; }
  body.classList.add("level-" + b.priority, "mode-" + b.mode, sizeClass(b.text || ""));
  if (b.image) { body.classList.add("has-image"); $(b.priority === "emergency" ? "em-image" : "image").src = b.image; }
  if (b.video || b.live) { body.classList.add("has-video"); startVideo(b); }
  if (b.priority === "emergency") { $("em-title").textContent = b.title; $("em-text").textContent = b.text; return; }
  $("title").textContent = b.title;
  if (b.mode === "ticker") {
    $("ticker-text").textContent = b.text;
    $("ticker-text").style.animationDuration = Math.max(10, b.text.length * 0.25) + "s";
  } else {
    $("text").textContent = b.text;
  }
}

function stopVideos() {
  live = null;
  for (const id of ["video", "em-video"]) {
    const v = $(id);
    v.onended = v.onerror = null;
    if (v.hasAttribute("src")) { v.removeAttribute("src"); v.load(); }  // ends its download too
  }
}

function startVideo(b) {
  const v = $(b.priority === "emergency" ? "em-video" : "video");
  v.muted = true;
  v.loop = !b.live && b.video.loop;
  v.src = b.live ? b.live.url : b.video.url;
  if (b.live) {
    live = {v: v, t: -1, since: Date.now()};
    v.onended = v.onerror = () => setTimeout(() => { if (live && live.v === v) restart(v); }, RETRY_MS);
  } else {
    v.onended = () => report(b, "finished", "");
    v.onerror = () => report(b, "failed", v.error ? v.error.code + " " + (v.error.message || "") : "");
  }
  v.play().catch(() => {});  // muted autoplay is allowed; a refusal shows as an error event
}

function restart(v) {
  live.since = Date.now();
  v.load();
  v.play().catch(() => {});
}

function watchLive() {
  if (!live) return;
  if (live.v.currentTime !== live.t) { live.t = live.v.currentTime; live.since = Date.now(); }
  else if (Date.now() - live.since > STALL_MS) restart(live.v);
}

function report(b, kind, detail) {
  if (SNAPSHOT) return;
  fetch("report", {method: "POST", cache: "no-store", headers: {"Content-Type": "application/json"},
                   body: JSON.stringify({play_id: b.play_id, kind: kind, detail: detail})}).catch(() => {});
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
setInterval(watchLive, 1000);
poll();
