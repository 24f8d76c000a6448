// Live view: Server-Sent Events from /live/stream draw doors, occupancy, opening and the feed;
// command and acknowledge forms are sent with fetch() and the CSRF token of the session.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;
  const feed = document.getElementById("feed");
  const alarmPanel = document.getElementById("alarm-panel");
  const conn = document.getElementById("conn");
  const FEED_MAX = 200;
  const ALARM_TYPES = new Set(["door.held_open", "door.forced_open", "door.closed", "fire.alarm",
    "fire.cleared", "reader.attack", "reader.offline", "reader.online", "pin.blocked",
    "occupancy.full", "sip2.offline", "sip2.online", "door.tailgating", "lockdown.started",
    "lockdown.ended"]);
  const outcomes = new Map(); // command id -> event, for answers that beat the fetch() reply

  function clock(ts) {
    const d = new Date(ts);
    return isNaN(d) ? "" : d.toLocaleTimeString("da-DK", {hour12: false});
  }

  function setField(card, name, text, tone) {
    const dd = card.querySelector(`[data-field="${name}"]`);
    if (!dd) return;
    dd.textContent = text;
    dd.className = tone || "";
  }

  function drawDoor(id, s) {
    const card = document.getElementById("door-" + id);
    if (!card) return;
    setField(card, "lock", s.lock || "–", s.lock === "locked" ? "good" : "warn");
    setField(card, "contact", s.contact || "–", s.contact === "closed" ? "good" : "warn");
    setField(card, "mode", s.mode || "–", s.mode === "normal" ? "" : "bad");
    const alarm = s.fire ? "FIRE" : (s.alarm ? s.alarm.replace("_", " ") : "none");
    setField(card, "alarm", alarm, alarm === "none" ? "good" : "bad");
  }

  function drawOccupancy(o) {
    if (!o) return;
    document.getElementById("occ-inside").textContent = o.inside;
    document.getElementById("occ-capacity").textContent = o.capacity;
    const share = o.capacity ? Math.min(1, o.inside / o.capacity) : 0;
    const bar = document.getElementById("occ-bar");
    bar.style.width = (share * 100).toFixed(1) + "%";
    bar.className = "fill" + (share >= 1 ? " full" : share >= 0.8 ? " high" : "");
  }

  function drawOpening(o) {
    if (!o) return;
    document.getElementById("opening").textContent = o.state;
    document.getElementById("opening-until").textContent = o.until ? "until " + clock(o.until) : "";
  }

  const components = {};
  function drawStatus(name, status) {
    components[name] = status;
    const box = document.getElementById("components");
    box.replaceChildren(...Object.keys(components).sort().map((n) => {
      const pill = document.createElement("span");
      pill.className = "pill " + (components[n] === "online" ? "on" : "off");
      pill.textContent = `${n} ${components[n]}`;
      return pill;
    }));
  }

  function addEvent(e) {
    const li = document.createElement("li");
    li.dataset.id = e.id;
    li.dataset.type = e.type;
    li.className = "t-" + e.type.replace(/\./g, "-");
    const time = document.createElement("time");
    time.dateTime = e.ts;
    time.textContent = clock(e.ts);
    const text = document.createElement("span");
    const by = e.details && e.details.by ? " by " + e.details.by : "";
    text.textContent = `${e.source}: ${e.type}${e.reason ? " — " + e.reason : ""}${by}`;
    li.append(time, text);
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  function showOutcome(form, state, text) {
    const p = form.querySelector(".outcome");
    p.className = "outcome " + state;
    p.textContent = text;
  }

  function answer(e) {
    const id = e.details && e.details.command_id;
    if (!id) return;
    outcomes.set(id, e);
    const form = document.querySelector(`form.command[data-command="${id}"]`);
    if (form) settle(form, e);
  }

  function settle(form, e) {
    const done = e.type === "command.done";
    showOutcome(form, done ? "done" : "rejected",
      done ? `Done: ${e.details.action}` : `Rejected by the door: ${e.reason || "no reason"}`);
    delete form.dataset.command;
  }

  let alarmTimer = null;
  function refreshAlarms(delay) {
    clearTimeout(alarmTimer);
    alarmTimer = setTimeout(async () => {
      const typing = alarmPanel.contains(document.activeElement) && document.activeElement.value;
      if (typing) { refreshAlarms(5000); return; } // do not throw away a half-written comment
      const r = await fetch(alarmPanel.dataset.src, {headers: {Accept: "text/html"}});
      if (r.ok) alarmPanel.innerHTML = await r.text(); // our own server-rendered, escaped HTML
    }, delay);
  }

  function connect() {
    const source = new EventSource("/live/stream");
    source.addEventListener("open", () => { conn.textContent = "live"; conn.className = "pill on"; });
    source.addEventListener("error", () => {
      conn.textContent = "reconnecting…"; conn.className = "pill off";
      if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 3000);
    });
    source.addEventListener("snapshot", (m) => {
      const s = JSON.parse(m.data);
      for (const [id, state] of Object.entries(s.doors)) drawDoor(id, state);
      drawOccupancy(s.occupancy);
      drawOpening(s.opening);
      for (const [name, status] of Object.entries(s.status)) drawStatus(name, status);
      feed.replaceChildren();
      for (const e of s.feed.slice().reverse()) addEvent(e);
    });
    source.addEventListener("door", (m) => { const d = JSON.parse(m.data); drawDoor(d.door, d); });
    source.addEventListener("status", (m) => { const s = JSON.parse(m.data); drawStatus(s.component, s.status); });
    source.addEventListener("occupancy", (m) => drawOccupancy(JSON.parse(m.data)));
    source.addEventListener("opening", (m) => drawOpening(JSON.parse(m.data)));
    source.addEventListener("event", (m) => {
      const e = JSON.parse(m.data);
      addEvent(e);
      answer(e);
      if (ALARM_TYPES.has(e.type)) { // the recorder needs a moment to store it
        refreshAlarms(400);
        setTimeout(() => refreshAlarms(0), 2000);
      }
    });
    source.addEventListener("expired", () => location.reload());
  }

  async function post(url, body) {
    return fetch(url, {method: "POST", body, headers: {Accept: "application/json", "X-CSRF-Token": csrf}});
  }

  document.querySelectorAll("form.command").forEach((form) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = new FormData(form, ev.submitter);
      showOutcome(form, "pending", "Sending…");
      const r = await post(form.getAttribute("action"), data); // form.action would be the button named "action"
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { showOutcome(form, "failed", body.error || `Refused (${r.status})`); return; }
      const early = outcomes.get(body.command_id);
      if (early) { settle(form, early); return; }
      form.dataset.command = body.command_id;
      showOutcome(form, "pending", "Sent; waiting for the door…");
      setTimeout(() => {
        if (form.dataset.command === body.command_id) showOutcome(form, "failed", "No answer from the door (yet); see Commands.");
      }, 15000);
    });
  });

  alarmPanel.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form.ack-form");
    if (!form) return;
    ev.preventDefault();
    const r = await post(form.getAttribute("action"), new FormData(form));
    if (!r.ok) { const b = await r.json().catch(() => ({})); alert(b.error || "Not acknowledged"); }
    refreshAlarms(0);
  });

  refreshAlarms(0);
  setInterval(() => refreshAlarms(0), 30000);
  connect();
})();
