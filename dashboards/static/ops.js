/* Operations page: the live backlog pushed by server-sent events (no refresh button), and an
   Outsource action on the studies about to breach or already past due. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const URGENCIES = ["stroke", "trauma", "urgent", "cancer", "routine"];
  const COLOURS = { stroke: "#D55E00", trauma: "#CC79A7", urgent: "#E69F00", cancer: "#56B4E9", routine: "#0072B2" };
  let providers = [];
  let last = null;
  let lastWaiting = null;
  let chosen = null;

  const seen = {};
  /* Re-draw a part only when its data changed, so keyboard focus survives the live updates. */
  function changed(key, value) {
    const sig = JSON.stringify(value);
    if (seen[key] === sig) return false;
    seen[key] = sig;
    return true;
  }
  const urgencyRank = (u) => (URGENCIES.includes(u) ? URGENCIES.indexOf(u) : 99);
  const badge = (u) => WL.el("span", { class: "badge " + u }, u);

  function outsourceButton(s) {
    const able = providers.some((p) => !p.modalities.length || p.modalities.includes(s.modality));
    return WL.el("button", {
      type: "button", class: "secondary", disabled: !able,
      "aria-label": `Outsource ${s.modality} ${s.description || ""} from ${s.site}, due ${WL.time(s.due_at)}`,
      onclick: () => openDialog(s),
    }, "Outsource");
  }

  function dueRow(s, overdue) {
    return [
      WL.time(s.due_at),
      WL.el("td", { class: "num" }, WL.duration(overdue ? -s.minutes_left : s.minutes_left)),
      s.site,
      (s.description || `${s.modality} ${s.body_part || ""}`.trim()) + (s.outsourcing_recommended ? " (outsourcing recommended)" : ""),
      badge(s.urgency),
      s.status === "claimed" ? s.assignee : "waiting",
      WL.el("td", {}, outsourceButton(s)),
    ];
  }

  function render(snap) {
    last = snap;
    $("as-of").textContent = WL.time(snap.as_of) + ":" + new Date(snap.as_of).getSeconds().toString().padStart(2, "0");
    const sum = (f) => snap.rows.reduce((a, r) => a + r[f], 0);
    const waiting = sum("waiting");
    $("t-waiting").textContent = waiting;
    $("t-claimed").textContent = sum("claimed");
    $("t-breached").textContent = sum("breached");
    $("t-outsourced").textContent = sum("outsourced");
    $("t-risk").textContent = snap.at_risk.length + (snap.at_risk.length >= 50 ? "+" : "");
    $("t-horizon").textContent = WL.duration(snap.horizon_minutes);
    $("t-reported").textContent = snap.throughput.reduce((a, h) => a + h.reported, 0);
    $("t-duty").textContent = snap.on_duty.length;
    if (lastWaiting !== null && waiting !== lastWaiting) {
      WL.announce(`${waiting} studies waiting, ${sum("breached")} past due.`);
    }
    lastWaiting = waiting;

    const brief = (list) => list.map((s) => [s.study_uid, s.status, s.assignee, Math.round(s.minutes_left)]);
    if (changed("risk", brief(snap.at_risk))) {
      WL.rows($("risk-rows"), snap.at_risk, (s) => dueRow(s, false), "Nothing is due within the window.");
    }
    if (changed("breached", brief(snap.breached))) {
      WL.rows($("breached-rows"), snap.breached, (s) => dueRow(s, true), "Nothing is past due.");
      for (const tr of $("breached-rows").children) tr.classList.add("late");
    }
    if (changed("duty", snap.on_duty)) WL.rows($("duty-rows"), snap.on_duty, (p) => [
      p.name || p.reporter_id, p.group, p.kind,
      WL.el("td", { class: "num" }, p.in_hand),
      WL.el("td", { class: "num" }, `${p.completed_today} (${p.work_units_today} wu)`),
    ], "Nobody is in a session.");

    const sites = [...new Set(snap.rows.map((r) => r.site))].sort();
    if (changed("sites", sites)) {
      const filter = $("site-filter");
      const keep = filter.value;
      filter.replaceChildren(WL.el("option", { value: "" }, "All sites"), ...sites.map((s) => WL.el("option", { value: s }, s)));
      filter.value = sites.includes(keep) ? keep : "";
    }
    renderTable();
    if (!changed("charts", [snap.rows.map((r) => [r.site, r.modality, r.urgency, r.waiting, r.claimed]), snap.ages, snap.throughput])) return;
    const present = URGENCIES.filter((u) => snap.rows.some((r) => r.urgency === u));
    Charts.bars($("site-chart"), {
      label: "Studies waiting or being reported, by site and urgency",
      categories: sites, stacked: true,
      series: present.map((u) => ({
        name: u, color: COLOURS[u],
        values: sites.map((s) => snap.rows.filter((r) => r.site === s && r.urgency === u).reduce((a, r) => a + r.waiting + r.claimed, 0)),
      })),
    });
    const ageUrgencies = URGENCIES.filter((u) => snap.ages.some((a) => a.by_urgency[u]));
    Charts.bars($("age-chart"), {
      label: "Studies in the queue by time since acquisition and urgency",
      categories: snap.ages.map((a) => a.age), stacked: true,
      series: ageUrgencies.map((u) => ({ name: u, color: COLOURS[u], values: snap.ages.map((a) => a.by_urgency[u] || 0) })),
    });
    Charts.bars($("tp-chart"), {
      label: "Studies reported and arriving per hour today",
      categories: snap.throughput.map((h) => h.hour),
      series: [
        { name: "reported", color: "#009E73", values: snap.throughput.map((h) => h.reported) },
        { name: "arrived", color: "#0072B2", values: snap.throughput.map((h) => h.arrived) },
      ],
    });

  }

  function renderTable() {
    if (!last) return;
    const site = $("site-filter").value;
    if (!changed("table", [site, last.rows])) return;
    const rows = last.rows
      .filter((r) => !site || r.site === site)
      .filter((r) => r.waiting + r.claimed > 0)
      .sort((a, b) => a.site.localeCompare(b.site) || urgencyRank(a.urgency) - urgencyRank(b.urgency) || a.modality.localeCompare(b.modality));
    WL.rows($("bk-rows"), rows, (r) => [
      r.site, r.modality, badge(r.urgency),
      WL.el("td", { class: "num" }, r.waiting),
      WL.el("td", { class: "num" }, r.claimed),
      WL.el("td", { class: "num" }, r.breached),
      WL.el("td", { class: "num" }, WL.duration(r.oldest_minutes)),
    ], "Nothing waiting.");
  }

  function openDialog(s) {
    chosen = s;
    const fit = providers.filter((p) => !p.modalities.length || p.modalities.includes(s.modality));
    $("os-study").textContent = `${s.modality} ${s.description || ""} from ${s.site}, ${s.urgency}, due ${WL.when(s.due_at)}.`;
    $("os-provider").replaceChildren(...fit.map((p) => {
      const price = p.price && p.price[s.modality] !== undefined ? ` – £${p.price[s.modality].toFixed(2)}` : "";
      return WL.el("option", { value: p.id }, `${p.name}${price}, reports within ${p.tat_hours} h`);
    }));
    $("os-error").textContent = "";
    $("outsource-dialog").showModal();
    $("os-provider").focus();
  }

  function wire() {
    $("site-filter").addEventListener("change", renderTable);
    $("os-cancel").addEventListener("click", () => $("outsource-dialog").close());
    $("outsource-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const provider = $("os-provider").value;
      try {
        await WL.api(`/api/v1/studies/${encodeURIComponent(chosen.study_uid)}/outsource`, { method: "POST", body: { provider } });
        $("outsource-dialog").close();
        WL.announce(`Sent ${chosen.modality} from ${chosen.site} to ${provider}.`);
      } catch (e) {
        $("os-error").textContent = e.message;
      }
    });
  }

  function streamState(s) {
    const b = $("stream-state");
    b.textContent = s === "live" ? "live" : "reconnecting…";
    b.className = "badge " + (s === "live" ? "live" : "off");
  }

  wire();
  let started = false;
  WL.signIn(async () => {
    const first = await WL.api("/api/v1/dashboards/backlog");
    providers = await WL.api("/api/v1/providers").catch(() => []);
    $("whoami").textContent = "Signed in";
    render(first);
    if (!started) {
      started = true;
      WL.stream("/api/v1/events/ops", (name, data) => { if (name === "backlog") render(data); }, streamState);
    }
  });
})();
