/* Reporter page: session, next case with its reason in plain words, complete or hand back,
   today's tally. Polls the cheap /me/inbox every 2 s so a pushed hot case shows at once. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let state = { session: null, current: null };
  let polling = null;
  let pulling = false;

  const RULES = {
    "most-urgent": "It was the most urgent study you are allowed to report, measured by the time left before it is due.",
    push: "It is a hot case (stroke or trauma) pushed straight to you: you were the eligible reporter on duty with the least urgent work in hand.",
    "patient-group": "It is the same patient as a study you took just before; a patient's studies go to one reporter so they are read together.",
  };

  function explain(reason) {
    const out = [];
    if (!reason) return out;
    out.push(RULES[reason.rule] || `Chosen by rule "${reason.rule}".`);
    if (reason.slack_minutes !== undefined) {
      out.push(reason.slack_minutes >= 0
        ? `It is due in ${WL.duration(reason.slack_minutes)}.`
        : `It is already ${WL.duration(-reason.slack_minutes)} past its due time.`);
    }
    const score = reason.score || {};
    const min = (ms) => Math.round((ms || 0) / 60000);
    if (score.reading_due > score.due) out.push(`It cannot be reported in time any more, so it was ranked by when it would be finished if started at once: quick overdue cases go before long ones, and cases that can still make their target before both.`);
    if (score.subspecialty_bonus > 0) out.push(`It matches your subspecialty, so it was moved ${min(score.subspecialty_bonus)} min up your list.`);
    if (score.home_site_bonus > 0) out.push(`It comes from your home site, so it was moved ${min(score.home_site_bonus)} min up your list.`);
    if (score.radiographer_deferral > 0) out.push(`A reporting radiographer could report it, so it was held back ${min(score.radiographer_deferral)} min for them; nothing more urgent was left for you.`);
    if (reason.stage === 1) out.push("It was running out of time, so it was opened to every eligible radiologist, not just subspecialists.");
    if (reason.stage >= 2) out.push("It is close to breaching; operations have been told it may need outsourcing.");
    if (reason.patient_held && reason.patient_held.length) out.push(`${reason.patient_held.length} other waiting ${reason.patient_held.length === 1 ? "study" : "studies"} of this patient ${reason.patient_held.length === 1 ? "is" : "are"} held for you next.`);
    if (reason.heads_compared) {
      const n = reason.heads_compared;
      out.push(`The balancer compared the front of ${n} ${n === 1 ? "queue" : "queues"} you are eligible for.`);
    }
    return out;
  }

  function renderCase() {
    const c = state.current;
    $("case").hidden = !c;
    $("case-empty").hidden = !!c;
    $("case-card").classList.toggle("hot", !!c && ["stroke", "trauma"].includes(c.study.urgency));
    $("next").disabled = !state.session || !!c;
    if (!c) return;
    const s = c.study;
    $("case-title").textContent = `${s.description || s.modality + " " + (s.body_part || "")}`;
    const facts = [
      ["Urgency", WL.el("span", { class: "badge " + s.urgency }, s.urgency)],
      ["Site", s.site],
      ["Modality / body part", `${s.modality} / ${s.body_part || "–"}`],
      ["Patient", `${s.patient_age ?? "?"} years, ${s.patient_source || "unknown source"}`],
      ["Accession", s.accession || "–"],
      ["Acquired", WL.when(s.acquired_at)],
      ["Due", WL.when(c.due_at)],
      ["Held for you until", WL.time(c.lease_expires_at)],
      ["Work units", s.work_units],
    ];
    $("case-facts").replaceChildren(...facts.flatMap(([k, v]) => [WL.el("dt", {}, k), WL.el("dd", {}, v)]));
    $("case-reasons").replaceChildren(...explain(c.reason).map((t) => WL.el("li", {}, t)));
  }

  function renderSession() {
    const s = state.session;
    $("session-state").textContent = s
      ? `In a ${s.kind === "insourced" ? "insourcing" : "core"} session since ${WL.time(s.started_at)}.`
      : "Not in a session.";
    $("session-start").hidden = !!s;
    $("session-end").hidden = !s;
    renderCase();
  }

  function renderTally(t) {
    $("tally-cases").textContent = t.completed;
    $("tally-wu").textContent = t.work_units;
    $("tally-released").textContent = t.released;
    const parts = Object.entries(t.by_sourcing || {}).map(([k, v]) => `${k}: ${v.completed} cases, ${v.work_units} units`);
    $("tally-split").textContent = parts.join(" · ");
  }

  async function refresh() {
    const st = await WL.api("/api/v1/me/status");
    state = { session: st.session, current: st.current };
    $("whoami").textContent = `Reporter ${st.reporter_id}`;
    renderSession();
    renderTally(st.tally);
  }

  async function act(fn, done) {
    try {
      await fn();
      if (done) WL.announce(done);
    } catch (e) {
      $("next-msg").textContent = e.message;
      WL.announce(e.message);
    }
    await refresh().catch(() => {});
  }

  async function pull(hot) {
    if (pulling) return;
    pulling = true;
    $("next-msg").textContent = "";
    try {
      const got = await WL.api("/api/v1/worklist/next", { method: "POST" });
      if (!got) {
        $("next-msg").textContent = "Nothing you can report is waiting right now.";
        WL.announce("Nothing waiting.");
      } else {
        state.current = { ...got, reason: { via: got.reason.via, ...got.reason } };
        renderCase();
        const msg = `${hot ? "Hot case pushed to you: " : "New case: "}${got.study.description || got.study.modality}, ${got.study.urgency}, due ${WL.time(got.due_at)}.`;
        WL.announce(msg);
        if (hot) { $("hot-alert").textContent = msg; $("hot-alert").hidden = false; }
        $("case-h").focus?.();
      }
    } catch (e) {
      $("next-msg").textContent = e.message;
    } finally {
      pulling = false;
      refresh().catch(() => {});
    }
  }

  async function poll() {
    if (!state.session) return;
    try {
      const inbox = await WL.api("/api/v1/me/inbox");
      if (inbox.held > 0 && !state.current) await pull(inbox.hot > 0);
    } catch (e) { /* the next tick tries again */ }
  }

  function wire() {
    $("start-core").addEventListener("click", () => act(() => WL.api("/api/v1/sessions", { method: "POST", body: { kind: "core" } }), "Core session started."));
    $("start-insourced").addEventListener("click", () => act(() => WL.api("/api/v1/sessions", { method: "POST", body: { kind: "insourced" } }), "Insourcing session started."));
    $("end-session").addEventListener("click", () => act(() => WL.api("/api/v1/sessions/current", { method: "DELETE" }), "Session ended."));
    $("next").addEventListener("click", () => pull(false));
    $("complete").addEventListener("click", () => {
      const id = state.current.assignment_id;
      $("hot-alert").hidden = true;
      act(() => WL.api(`/api/v1/assignments/${id}/complete`, { method: "POST" }), "Case reported. Press Next case for another.");
    });
    $("release-reason").addEventListener("change", () => { $("release-other-wrap").hidden = $("release-reason").value !== "other"; });
    $("release-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const choice = $("release-reason").value;
      const reason = choice === "other" ? $("release-other").value.trim() : choice;
      if (!reason) { $("next-msg").textContent = "Say why you are handing the case back."; return; }
      const id = state.current.assignment_id;
      $("hot-alert").hidden = true;
      $("release-form").reset();
      $("release-other-wrap").hidden = true;
      act(() => WL.api(`/api/v1/assignments/${id}/release`, { method: "POST", body: { reason } }), "Case handed back to the worklist.");
    });
  }

  wire();
  WL.signIn(async () => {
    await refresh();
    if (!polling) polling = setInterval(poll, 2000);
  });
})();
