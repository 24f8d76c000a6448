// Live view: Server-Sent Events from /live/stream draw doors, occupancy, opening and the feed;
// command and acknowledge forms are sent with fetch() and the CSRF token of the session.
// Every word comes from the page's catalogue (#words), none from this file. What is shown is
// marked stale the moment the server says its broker link is down, a door's last word is old,
// or the server's beat stops; when the session ends the page says "logged out" and nothing else.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;
  const base = document.body.dataset.base || "";
  const W = JSON.parse(document.getElementById("words").textContent);
  const feed = document.getElementById("feed");
  const alarmPanel = document.getElementById("alarm-panel");
  const conn = document.getElementById("conn");
  const banners = document.getElementById("banners");
  const FEED_MAX = 200;
  const BEAT_MISSED_MS = 3500; // the server beats every second
  const ALARM_TYPES = new Set(["door.held_open", "door.forced_open", "door.closed", "fire.alarm",
    "fire.cleared", "reader.attack", "reader.offline", "reader.online", "pin.blocked",
    "occupancy.full", "sip2.offline", "sip2.online", "door.tailgating", "lockdown.started",
    "lockdown.ended"]);
  const CRITICAL = new Set(["fire.alarm", "door.forced_open"]);
  const outcomes = new Map(); // command id -> settled answer, for answers that beat the fetch() reply
  const state = {doors: {}, occupancy: null, opening: null, link: null, lastBeat: Date.now(),
    downSince: null, loggedOut: false, source: null, tailgating: 0};

  function t(key, vars) {
    let text = W.t[key];
    if (text === undefined) return null;
    for (const [k, v] of Object.entries(vars || {})) text = text.replaceAll(`{${k}}`, v);
    return text;
  }
  function code(area, value) { return value ? (t(`${area}.${value}`) ?? String(value)) : ""; }
  function doorName(id) { return W.doors[id] || id; }

  function sameDay(a, b) { return a.toDateString() === b.toDateString(); }
  function when(ts, seconds) {
    const d = new Date(ts);
    if (isNaN(d)) return "";
    const clock = d.toLocaleTimeString("da-DK", {hour: "2-digit", minute: "2-digit",
      second: seconds ? "2-digit" : undefined, hour12: false}).replaceAll(".", ":");
    const now = new Date();
    const yesterday = new Date(now); yesterday.setDate(now.getDate() - 1);
    const tomorrow = new Date(now); tomorrow.setDate(now.getDate() + 1);
    if (sameDay(d, now)) return clock;
    if (sameDay(d, yesterday)) return t("time.yesterday_at", {time: clock});
    if (sameDay(d, tomorrow)) return t("time.tomorrow_at", {time: clock});
    const date = t("time.date", {weekday: W.t["time.weekdays"][(d.getDay() + 6) % 7],
      day: d.getDate(), month: W.t["time.months"][d.getMonth()]});
    return t("time.date_at", {date, time: clock});
  }
  function ago(seconds) {
    if (seconds === null || seconds === undefined) return t("js.never_heard");
    return seconds < 120 ? t("js.ago_s", {n: Math.round(seconds)}) : t("js.ago_min", {n: Math.round(seconds / 60)});
  }

  function setField(card, name, text, tone, title) {
    const dd = card.querySelector(`[data-field="${name}"]`);
    if (!dd) return;
    dd.textContent = text;
    dd.className = tone || "";
    if (title !== undefined) dd.title = title;
  }

  function drawDoor(id, s) {
    state.doors[id] = s;
    const card = document.getElementById("door-" + id);
    if (!card) return;
    setField(card, "lock", code("lock", s.lock) || "–", s.lock === "locked" ? "good" : "warn", s.lock);
    setField(card, "contact", code("contact", s.contact) || "–", s.contact === "closed" ? "good" : "warn", s.contact);
    setField(card, "mode", code("mode", s.mode) || "–", s.mode === "normal" ? "" : "bad", s.mode);
    const alarm = s.fire ? "fire" : (s.alarm || "none");
    setField(card, "alarm", code("door_alarm", alarm), alarm === "none" ? "good" : "bad", alarm);
    const dot = document.getElementById("plan-" + id); // the door on the floor plan, coloured alike
    if (dot) {
      const tone = alarm !== "none" ? "bad" : (s.lock === "locked" && s.contact === "closed" ? "good" : "warn");
      dot.setAttribute("class", "plan-door " + tone);
      dot.querySelector("title").textContent = `${doorName(id)}: ${code("lock", s.lock)}, ${code("contact", s.contact)}`;
    }
    drawBanners();
  }

  function drawOccupancy(o) {
    if (!o) return;
    state.occupancy = o;
    document.getElementById("occ-inside").textContent = o.inside;
    document.getElementById("occ-capacity").textContent = o.capacity;
    const share = o.capacity ? Math.min(1, o.inside / o.capacity) : 0;
    const bar = document.getElementById("occ-bar");
    bar.style.width = (share * 100).toFixed(1) + "%";
    bar.className = "fill" + (share >= 1 ? " full" : share >= 0.8 ? " high" : "");
    drawBanners();
  }

  function drawOpening(o) {
    if (!o) return;
    state.opening = o;
    const el = document.getElementById("opening");
    el.textContent = code("opening", o.state);
    el.title = o.state;
    document.getElementById("opening-until").textContent = o.until ? t("opening.until", {when: when(o.until)}) : "";
    drawBanners();
  }

  const components = {};
  function drawStatus(name, status) {
    components[name] = status;
    const box = document.getElementById("components");
    box.replaceChildren(...Object.keys(components).sort().map((n) => {
      const pill = document.createElement("span");
      pill.className = "pill " + (components[n] === "online" ? "on" : "off");
      pill.textContent = `${n} ${code("js", components[n])}`;
      pill.title = `${n}: ${components[n]}`;
      return pill;
    }));
  }

  function drawTailgating(n) {
    state.tailgating = n || 0;
    const box = document.getElementById("tailgating");
    box.hidden = !state.tailgating;
    box.textContent = t("js.tailgating", {n: state.tailgating});
  }

  function banner(kind, text) {
    const p = document.createElement("p");
    p.className = "banner banner-" + kind;
    p.dataset.banner = kind;
    p.setAttribute("role", "alert");
    p.textContent = text;
    return p;
  }

  function drawBanners() {
    const shown = [];
    const doors = Object.entries(state.doors);
    if (doors.some(([, s]) => s.fire)) shown.push(banner("fire", t("js.fire_banner")));
    const locked = doors.filter(([, s]) => s.mode === "lockdown").map(([id]) => doorName(id));
    if (locked.length) shown.push(banner("lockdown", t("js.lockdown_banner", {doors: locked.join(", ")})));
    if (state.opening && state.opening.state === "closed" && state.occupancy && state.occupancy.inside > 0) {
      shown.push(banner("inside", t("js.inside_banner", {n: state.occupancy.inside})));
    }
    if (state.downSince) {
      const key = state.link && state.link.broker === false && Date.now() - state.lastBeat < BEAT_MISSED_MS
        ? "js.broker_down" : "js.server_down";
      shown.push(banner("stale", t(key, {since: when(state.downSince, true)})));
    }
    banners.replaceChildren(...shown);
  }

  function drawLink(link) {
    state.link = link;
    state.lastBeat = Date.now();
    for (const [id, d] of Object.entries(link.doors || {})) {
      const card = document.getElementById("door-" + id);
      if (!card) continue;
      card.classList.toggle("stale", d.stale);
      document.getElementById("plan-" + id)?.classList.toggle("stale", d.stale);
      setField(card, "age", d.stale ? t("js.door_stale", {ago: ago(d.age_s)}) : "", d.stale ? "bad" : "");
    }
    markStale(!link.broker);
  }

  function markStale(stale) {
    if (stale && !state.downSince) state.downSince = new Date().toISOString();
    if (!stale) state.downSince = null;
    document.body.classList.toggle("stale", stale);
    if (stale) { conn.textContent = t("js.stale"); conn.className = "pill off"; }
    else { conn.textContent = t("js.live"); conn.className = "pill on"; }
    drawBanners();
  }

  function watchBeat() {
    if (state.loggedOut) return;
    if (Date.now() - state.lastBeat > BEAT_MISSED_MS) {
      for (const card of document.querySelectorAll("article.door")) card.classList.add("stale");
      markStale(true);
    }
  }

  function addEvent(e) {
    const li = document.createElement("li");
    li.dataset.id = e.id;
    li.dataset.type = e.type;
    li.className = "t-" + e.type.replace(/\./g, "-");
    li.title = `${e.source}: ${e.type}${e.reason ? " — " + e.reason : ""}`;
    const time = document.createElement("time");
    time.dateTime = e.ts;
    time.textContent = when(e.ts, true);
    const text = document.createElement("span");
    const by = e.details && e.details.by ? " " + t("js.by", {who: e.details.by.replace(/^staff:/, "")}) : "";
    const reason = e.reason ? " — " + code("reason", e.reason) : "";
    text.textContent = `${doorName(e.source)}: ${code("event", e.type)}${reason}${by}`;
    li.append(time, text);
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  function showOutcome(form, tone, text) {
    const p = form.querySelector(".outcome");
    p.className = "outcome " + tone;
    p.textContent = text;
  }

  function actionWords(details) {
    if (details.action === "mode") return code("action", details.mode === "lockdown" ? "lockdown" : "end_lockdown");
    return code("action", details.action);
  }

  function settle(form, answer) {
    if (answer.result === "done") showOutcome(form, "done", t("js.done", {action: actionWords(answer)}));
    else if (answer.result === "rejected") showOutcome(form, "rejected", t("js.rejected", {reason: answer.reason || t("js.no_reason")}));
    else showOutcome(form, "failed", t("js.not_delivered", {reason: code("result", answer.reason)}));
    delete form.dataset.command;
  }

  function answered(id, answer) {
    outcomes.set(id, answer);
    const form = document.querySelector(`form.command[data-command="${id}"]`);
    if (form) settle(form, answer);
  }

  function onEvent(e) {
    addEvent(e);
    const id = e.details && e.details.command_id;
    if (id && (e.type === "command.done" || e.type === "command.rejected")) {
      answered(id, {result: e.type === "command.done" ? "done" : "rejected", action: e.details.action,
        mode: e.details.mode, reason: e.reason});
    }
    if (e.type === "door.tailgating") drawTailgating(state.tailgating + 1);
    if (CRITICAL.has(e.type)) notify(e);
    if (ALARM_TYPES.has(e.type)) { // the recorder needs a moment to store it
      refreshAlarms(400);
      setTimeout(() => refreshAlarms(0), 2000);
    }
  }

  let alarmTimer = null;
  function refreshAlarms(delay) {
    clearTimeout(alarmTimer);
    if (state.loggedOut) return;
    alarmTimer = setTimeout(async () => {
      const typing = alarmPanel.contains(document.activeElement) && document.activeElement.value;
      if (typing) { refreshAlarms(5000); return; } // do not throw away a half-written comment
      let r;
      try { r = await fetch(alarmPanel.dataset.src, {headers: {Accept: "text/html"}, redirect: "manual"}); }
      catch { return; } // the server is away: the beat watch says so
      if (r.status === 401 || r.type === "opaqueredirect") { loggedOut(); return; }
      if (r.ok) alarmPanel.innerHTML = await r.text(); // our own server-rendered, escaped HTML
    }, delay);
  }

  function loggedOut() {
    if (state.loggedOut) return;
    state.loggedOut = true;
    if (state.source) state.source.close();
    clearTimeout(alarmTimer);
    document.querySelector("main").hidden = true;
    banners.replaceChildren();
    document.querySelector("header nav")?.remove();
    document.querySelector("header form.logout")?.remove();
    document.getElementById("logged-out").hidden = false;
    document.title = t("js.logged_out_title");
    document.body.classList.add("logged-out");
  }

  // The stream ended or failed: logged out, or only the server (or the network) away?
  async function checkLogin() {
    try {
      const r = await fetch("/whoami", {headers: {Accept: "application/json"}});
      if (r.status === 401) { loggedOut(); return false; }
      return r.ok;
    } catch { return false; }
  }

  function connect() {
    const source = new EventSource(`${base}/live/stream`);
    state.source = source;
    source.addEventListener("error", async () => {
      if (state.loggedOut) return;
      conn.textContent = t("js.reconnecting"); conn.className = "pill off";
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (await checkLogin()) connect(); else if (!state.loggedOut) setTimeout(reconnect, 1000);
      }
    });
    source.addEventListener("snapshot", (m) => {
      const s = JSON.parse(m.data);
      for (const [id, st] of Object.entries(s.doors)) drawDoor(id, st);
      drawOccupancy(s.occupancy);
      drawOpening(s.opening);
      for (const [name, status] of Object.entries(s.status)) drawStatus(name, status);
      drawTailgating(s.tailgating);
      feed.replaceChildren();
      for (const e of s.feed.slice().reverse()) addEvent(e);
      drawLink(s.link);
    });
    source.addEventListener("link", (m) => drawLink(JSON.parse(m.data)));
    source.addEventListener("door", (m) => { const d = JSON.parse(m.data); drawDoor(d.door, d); });
    source.addEventListener("status", (m) => { const s = JSON.parse(m.data); drawStatus(s.component, s.status); });
    source.addEventListener("occupancy", (m) => drawOccupancy(JSON.parse(m.data)));
    source.addEventListener("opening", (m) => drawOpening(JSON.parse(m.data)));
    source.addEventListener("event", (m) => onEvent(JSON.parse(m.data)));
    source.addEventListener("command", (m) => {
      const c = JSON.parse(m.data);
      answered(c.command_id, {result: c.result, action: c.action, reason: c.result_reason});
    });
    const over = async () => { source.close(); if (await checkLogin()) connect(); };
    source.addEventListener("ended", over);
    source.addEventListener("expired", over);
  }
  async function reconnect() { if (await checkLogin()) connect(); else if (!state.loggedOut) setTimeout(reconnect, 1000); }

  // Desktop notifications for critical alarms: opt-in, remembered per user in this browser.
  const who = document.querySelector("header .who")?.firstChild?.textContent.trim() || "";
  const notifyKey = "aabent-notify-" + who;
  function notify(e) {
    if (localStorage.getItem(notifyKey) !== "on" || !("Notification" in window)) return;
    if (Notification.permission === "granted") {
      new Notification(t("js.notify_title"), {body: `${doorName(e.source)}: ${code("event", e.type)}`, tag: e.id});
    }
    const title = document.title;
    document.title = "⚠ " + code("event", e.type);
    setTimeout(() => { document.title = title; }, 10000);
    try {
      const ctx = new AudioContext();
      const tone = ctx.createOscillator();
      tone.frequency.value = 880;
      tone.connect(ctx.destination);
      tone.start(); tone.stop(ctx.currentTime + 0.4);
    } catch { /* no sound available */ }
  }
  function notifyButton() {
    if (!("Notification" in window)) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "notify";
    const draw = () => { button.textContent = localStorage.getItem(notifyKey) === "on" ? t("js.notify_off") : t("js.notify_on"); };
    button.addEventListener("click", async () => {
      if (localStorage.getItem(notifyKey) === "on") { localStorage.removeItem(notifyKey); draw(); return; }
      if (await Notification.requestPermission() === "granted") localStorage.setItem(notifyKey, "on");
      draw();
    });
    draw();
    document.querySelector("header .tools").prepend(button);
  }

  async function post(url, body) {
    return fetch(url, {method: "POST", body, headers: {Accept: "application/json", "X-CSRF-Token": csrf}});
  }

  document.querySelectorAll("form.command").forEach((form) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = new FormData(form, ev.submitter);
      showOutcome(form, "pending", t("js.sending"));
      let r;
      try { r = await post(form.getAttribute("action"), data); } // form.action would be the button named "action"
      catch { showOutcome(form, "failed", t("js.not_delivered", {reason: t("js.server_down", {since: when(new Date().toISOString(), true)})})); return; }
      if (r.status === 401) { loggedOut(); return; }
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { showOutcome(form, "failed", body.error || t("js.refused", {status: r.status})); return; }
      form.querySelector("input[name=reason]").value = ""; // the next command needs its own reason
      const early = outcomes.get(body.command_id);
      if (early) { settle(form, early); return; }
      form.dataset.command = body.command_id;
      showOutcome(form, "pending", t("js.waiting"));
    });
  });

  alarmPanel.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form.ack-form");
    if (!form) return;
    ev.preventDefault();
    const r = await post(form.getAttribute("action"), new FormData(form));
    if (r.status === 401) { loggedOut(); return; }
    if (!r.ok) { const b = await r.json().catch(() => ({})); alert(b.error || t("js.not_acknowledged")); }
    refreshAlarms(0);
  });

  notifyButton();
  refreshAlarms(0);
  setInterval(() => refreshAlarms(0), 30000);
  setInterval(watchBeat, 500);
  connect();
})();
