/* Shared page plumbing: sign-in with a token kept in sessionStorage (gone when the tab
   closes), JSON calls with the Authorization header, a server-sent-event reader over fetch
   (so the token never goes in a URL), local-time formatting and screen-reader announcements. */
"use strict";

const WL = (() => {
  const KEY = "worklist.token";
  const TZ = "Europe/London";
  const timeFmt = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const dateFmt = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });

  const token = () => sessionStorage.getItem(KEY);

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (r.status === 401) {
      signOut("That token was not accepted (unknown, expired or revoked). Sign in again.");
    }
    if (!r.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || r.statusText);
      throw new ApiError(r.status, detail);
    }
    return data;
  }

  /* Read a text/event-stream with fetch; calls onEvent(name, data) and reconnects for ever. */
  async function stream(path, onEvent, onState) {
    for (;;) {
      try {
        const r = await fetch(path, { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" } });
        if (r.status === 401) { signOut("Your session ended. Sign in again."); return; }
        if (!r.ok || !r.body) throw new Error("stream answered " + r.status);
        onState("live");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (data) onEvent(name, JSON.parse(data));
          }
        }
      } catch (e) {
        onState("reconnecting");
        await new Promise((res) => setTimeout(res, 3000));
      }
      if (!token()) return;
    }
  }

  function announce(message) {
    const live = document.getElementById("live");
    if (live) live.textContent = message;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    document.getElementById("app").hidden = true;
    document.getElementById("signin").hidden = false;
    const err = document.getElementById("signin-error");
    err.textContent = message || "";
    document.getElementById("token").focus();
  }

  /* Wire the sign-in form; start(role check) runs with a stored token. */
  function signIn(start) {
    const form = document.getElementById("signin");
    const err = document.getElementById("signin-error");
    async function go() {
      try {
        await start();
        form.hidden = true;
        document.getElementById("app").hidden = false;
        err.textContent = "";
      } catch (e) {
        sessionStorage.removeItem(KEY);
        form.hidden = false;
        document.getElementById("app").hidden = true;
        err.textContent = e.status === 403
          ? "This token's role cannot use this page: " + e.message
          : "Could not sign in: " + e.message;
      }
    }
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = document.getElementById("token").value.trim();
      if (!value) { err.textContent = "Paste your access token first."; return; }
      sessionStorage.setItem(KEY, value);
      document.getElementById("token").value = "";
      go();
    });
    document.getElementById("signout").addEventListener("click", () => { signOut("Signed out."); location.reload(); });
    if (token()) go();
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  function rows(tbody, list, cells, empty) {
    tbody.replaceChildren();
    if (!list.length) {
      const cols = tbody.closest("table").querySelectorAll("thead th").length || 1;
      tbody.append(el("tr", {}, el("td", { colspan: cols, class: "empty" }, empty || "Nothing to show.")));
      return;
    }
    for (const item of list) tbody.append(el("tr", {}, ...cells(item).map((c) => (c instanceof Node && c.tagName === "TD") ? c : el("td", {}, c))));
  }

  const time = (iso) => (iso ? timeFmt.format(new Date(iso)) : "–");
  const when = (iso) => (iso ? dayFmt.format(new Date(iso)) : "–");
  const today = () => dateFmt.format(new Date());
  const monthFmt = new Intl.DateTimeFormat("en-GB", { month: "short", year: "2-digit", timeZone: "UTC" });
  const month = (label) => monthFmt.format(new Date(label + "-01T00:00:00Z"));
  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  function duration(minutes) {
    if (minutes === null || minutes === undefined) return "–";
    const sign = minutes < 0 ? "−" : "";
    let m = Math.round(Math.abs(minutes));
    if (m < 60) return `${sign}${m} min`;
    const d = Math.floor(m / 1440); m -= d * 1440;
    const h = Math.floor(m / 60); m -= h * 60;
    return (sign + (d ? `${d} d ` : "") + (h ? `${h} h ` : "") + (d || (h && !m) ? "" : `${m} min`)).trim();
  }

  return { api, stream, announce, signIn, signOut, el, rows, time, when, today, month, pct, duration, TZ, ApiError };
})();
