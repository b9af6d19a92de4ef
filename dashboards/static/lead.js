/* Network lead page: radiographer share against the 40%/50% targets (by site and by month),
   insourcing against outsourcing (volume, work units, cost), and headroom (reportable work others
   reported while a radiographer who may report it was on duty). */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TARGETS = [{ value: 0.4, label: "40%" }, { value: 0.5, label: "50%" }];
  const num = (v) => WL.el("td", { class: "num" }, v);
  const money = (v) => (v === null || v === undefined ? "–" : "£" + v.toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  const siteName = (s) => (s === null ? "Network" : s);

  function against(share) {
    if (share === null) return "no X-rays reported";
    if (share >= 0.5) return "meets 50%";
    if (share >= 0.4) return "meets 40%, below 50%";
    return "below 40%";
  }

  function renderShare(body) {
    const sites = body.rows.filter((r) => r.site !== null);
    Charts.bars($("share-chart"), {
      label: `Radiographer share of plain X-ray reports by site, ${body.from} to ${body.to}, against 40% and 50% targets`,
      categories: sites.map((r) => r.site), horizontal: true, max: 1, targets: TARGETS,
      series: [{ name: "radiographer share", color: "#0072B2", values: sites.map((r) => r.share ?? 0) }],
      format: WL.pct,
    });
    WL.rows($("share-rows"), body.rows, (r) => [
      r.site === null ? WL.el("strong", {}, "Network") : r.site,
      num(r.reported), num(r.by_radiographer), num(WL.pct(r.share)), against(r.share),
    ]);
  }

  function renderTrend(body) {
    const months = [...new Set(body.rows.map((r) => r.month))];
    const total = months.map((m) => body.rows.find((r) => r.month === m && r.site === null)?.share ?? null);
    Charts.line($("trend-chart"), {
      label: "Network radiographer share of plain X-ray reports by month, against 40% and 50% targets",
      categories: months.map(WL.month), max: 1, targets: TARGETS, format: WL.pct,
      series: [{ name: "network share", color: "#0072B2", values: total }],
    });
  }

  function renderSourcingMonthly(body) {
    const months = [...new Set(body.rows.map((r) => r.month))];
    const totals = months.map((m) => body.rows.find((r) => r.month === m && r.site === null));
    Charts.bars($("src-chart"), {
      label: "Reports by core sessions, insourcing sessions and outsourcing, by month",
      categories: months.map(WL.month), stacked: true,
      series: [
        { name: "core", color: "#009E73", values: totals.map((t) => t.core) },
        { name: "insourced", color: "#0072B2", values: totals.map((t) => t.insourced) },
        { name: "outsourced", color: "#D55E00", values: totals.map((t) => t.outsourced) },
      ],
    });
    Charts.bars($("cost-chart"), {
      label: "Cost of core, insourced and outsourced reporting by month",
      categories: months.map(WL.month), stacked: true,
      format: (v) => "£" + Math.round(v).toLocaleString("en-GB"),
      series: [
        { name: "core", color: "#009E73", values: totals.map((t) => t.cost.core) },
        { name: "insourced", color: "#0072B2", values: totals.map((t) => t.cost.insourced) },
        { name: "outsourced", color: "#D55E00", values: totals.map((t) => t.cost.outsourced) },
      ],
    });
  }

  function renderSourcing(body) {
    WL.rows($("src-rows"), body.rows, (r) => [
      r.site === null ? WL.el("strong", {}, "Network") : r.site,
      num(r.core), num(r.insourced), num(r.outsourced),
      num(`${r.work_units.core + r.work_units.insourced} / ${r.work_units.outsourced}`),
      num(money(r.cost.core)), num(money(r.cost.insourced)), num(money(r.cost.outsourced)),
    ]);
  }

  function renderHeadroom(body) {
    WL.rows($("head-rows"), body.rows, (r) => [
      r.site === null ? WL.el("strong", {}, "Network") : siteName(r.site),
      num(r.reportable_reported), num(r.by_radiologist), num(r.by_registrar), num(r.by_radiographer),
      num(r.radiographer_on_duty), num(r.headroom_work_units), num(WL.pct(r.headroom_share)),
    ], "No radiographer-reportable studies were reported in the period.");
  }

  async function load() {
    const q = new URLSearchParams({ from: $("from").value, to: $("to").value });
    const months = $("months").value;
    $("period-error").textContent = "";
    try {
      const [share, trend, srcMonthly, src, head] = await Promise.all([
        WL.api(`/api/v1/dashboards/reporting-share?${q}`),
        WL.api(`/api/v1/dashboards/reporting-share/monthly?months=${months}`),
        WL.api(`/api/v1/dashboards/sourcing/monthly?months=${months}`),
        WL.api(`/api/v1/dashboards/sourcing?${q}`),
        WL.api(`/api/v1/dashboards/headroom?${q}`),
      ]);
      renderShare(share);
      renderTrend(trend);
      renderSourcingMonthly(srcMonthly);
      renderSourcing(src);
      renderHeadroom(head);
      const net = share.rows.find((r) => r.site === null);
      WL.announce(`Showing ${share.from} to ${share.to}: network radiographer share ${WL.pct(net.share)}.`);
    } catch (e) {
      if (e.status === 403 || e.status === 401) throw e;
      $("period-error").textContent = e.message;
    }
  }

  const today = WL.today();
  $("from").value = today.slice(0, 8) + "01";
  $("to").value = today;
  $("period").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  WL.signIn(async () => {
    $("whoami").textContent = "Signed in";
    await load();
  });
})();
