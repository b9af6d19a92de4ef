/* Tiny SVG charts for the dashboard pages: bars (grouped or stacked, vertical or horizontal)
   and lines, with optional target lines. No dependencies and nothing from the internet.
   Every chart is an <svg role="img"> with a text label, a legend, and a data table behind a
   <details> toggle so screen-reader and keyboard users get the numbers too. */
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D00", "#000000"];

  function node(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(value)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
    return 10 * step;
  }

  /* A scale top that gives round ticks: whole numbers for counts, nice steps otherwise. */
  function top(values, given) {
    if (given) return given;
    const peak = Math.max(0, ...values);
    if (values.every((v) => Number.isInteger(v))) return Math.max(4, Math.ceil(niceMax(peak) / 4) * 4);
    return niceMax(peak);
  }

  function legend(series) {
    const ul = document.createElement("ul");
    ul.className = "legend";
    series.forEach((s, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch" + (s.dashed ? " dashed" : "");
      sw.style.background = s.color || PALETTE[i % PALETTE.length];
      li.append(sw, document.createTextNode(s.name));
      ul.append(li);
    });
    return ul;
  }

  function dataTable(caption, categories, series, fmt) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Show the numbers";
    const table = document.createElement("table");
    table.className = "data";
    const cap = document.createElement("caption");
    cap.textContent = caption;
    const head = document.createElement("tr");
    for (const h of ["", ...series.map((s) => s.name)]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.append(th);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const tbody = document.createElement("tbody");
    categories.forEach((c, i) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = c;
      tr.append(th);
      for (const s of series) {
        const td = document.createElement("td");
        const v = s.values[i];
        td.textContent = v === null || v === undefined ? "–" : fmt(v);
        tr.append(td);
      }
      tbody.append(tr);
    });
    table.append(cap, thead, tbody);
    details.append(summary, table);
    return details;
  }

  function frame(container, label, height) {
    container.replaceChildren();
    const width = Math.max(280, container.clientWidth || 600);
    const svg = node("svg", {
      viewBox: `0 0 ${width} ${height}`, width: "100%", height: String(height),
      role: "img", "aria-label": label, preserveAspectRatio: "xMinYMin meet",
    });
    svg.append(node("title", {}, label));
    container.append(svg);
    return { svg, width };
  }

  /* bars(container, {label, categories, series: [{name, values, color}], stacked, horizontal,
                      targets: [{value, label}], max, format}) */
  function bars(container, opts) {
    const fmt = opts.format || ((v) => String(Math.round(v * 10) / 10));
    const cats = opts.categories;
    const series = opts.series.map((s, i) => ({ ...s, color: s.color || PALETTE[i % PALETTE.length] }));
    const totals = cats.map((_, i) => opts.stacked
      ? series.reduce((a, s) => a + (s.values[i] || 0), 0)
      : Math.max(0, ...series.map((s) => s.values[i] || 0)));
    const targets = opts.targets || [];
    const max = top([...totals, ...targets.map((t) => t.value)], opts.max);
    const horizontal = !!opts.horizontal;
    const band = horizontal ? 28 : 0;
    const height = horizontal ? Math.max(80, cats.length * band + 40) : (opts.height || 240);
    const { svg, width } = frame(container, opts.label, height);
    const m = horizontal ? { l: 90, r: 30, t: 10, b: 26 } : { l: 56, r: 12, t: 12, b: 42 };
    const pw = width - m.l - m.r, ph = height - m.t - m.b;
    const scale = (v) => (v / max) * (horizontal ? pw : ph);
    for (let k = 0; k <= 4; k++) {  // grid and value axis
      const v = (max * k) / 4;
      if (horizontal) {
        const x = m.l + scale(v);
        svg.append(node("line", { x1: x, x2: x, y1: m.t, y2: m.t + ph, class: "grid" }));
        svg.append(node("text", { x, y: height - 8, "text-anchor": "middle", class: "tick" }, fmt(v)));
      } else {
        const y = m.t + ph - scale(v);
        svg.append(node("line", { x1: m.l, x2: m.l + pw, y1: y, y2: y, class: "grid" }));
        svg.append(node("text", { x: m.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
      }
    }
    const slot = (horizontal ? ph : pw) / Math.max(1, cats.length);
    const thick = Math.max(4, slot * 0.7);
    cats.forEach((cat, i) => {
      let offset = 0;
      series.forEach((s, j) => {
        const v = s.values[i] || 0;
        const size = scale(v);
        const each = opts.stacked ? thick : thick / series.length;
        const start = (horizontal ? m.t : m.l) + i * slot + (slot - thick) / 2 + (opts.stacked ? 0 : j * each);
        const rect = horizontal
          ? node("rect", { x: m.l + offset, y: start, width: Math.max(0, size), height: each, fill: s.color })
          : node("rect", { x: start, y: m.t + ph - offset - size, width: each, height: Math.max(0, size), fill: s.color });
        rect.append(node("title", {}, `${cat} – ${s.name}: ${fmt(v)}`));
        svg.append(rect);
        if (opts.stacked) offset += size;
      });
      const every = horizontal ? 1 : Math.ceil(cats.length / Math.max(1, Math.floor(pw / 56)));
      if (i % every !== 0) return;
      const label = horizontal
        ? node("text", { x: m.l - 6, y: m.t + i * slot + slot / 2 + 4, "text-anchor": "end", class: "cat" }, cat)
        : node("text", { x: m.l + i * slot + slot / 2, y: height - m.b + 16, "text-anchor": "middle", class: "cat" }, cat);
      svg.append(label);
    });
    for (const t of targets) {
      if (horizontal) {
        const x = m.l + scale(t.value);
        svg.append(node("line", { x1: x, x2: x, y1: m.t - 4, y2: m.t + ph, class: "target" }));
        svg.append(node("text", { x: x + 3, y: m.t + 8, class: "target-label" }, t.label));
      } else {
        const y = m.t + ph - scale(t.value);
        svg.append(node("line", { x1: m.l, x2: m.l + pw, y1: y, y2: y, class: "target" }));
        svg.append(node("text", { x: m.l + pw - 2, y: y - 4, "text-anchor": "end", class: "target-label" }, t.label));
      }
    }
    container.append(legend(series), dataTable(opts.label, cats, series, fmt));
  }

  /* line(container, {label, categories, series: [{name, values}], targets, max, format}) */
  function line(container, opts) {
    const fmt = opts.format || ((v) => String(v));
    const cats = opts.categories;
    const series = opts.series.map((s, i) => ({ ...s, color: s.color || PALETTE[i % PALETTE.length] }));
    const targets = opts.targets || [];
    const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
    const max = top([...all, ...targets.map((t) => t.value)], opts.max);
    const height = opts.height || 240;
    const { svg, width } = frame(container, opts.label, height);
    const m = { l: 56, r: 16, t: 12, b: 42 };
    const pw = width - m.l - m.r, ph = height - m.t - m.b;
    const x = (i) => m.l + (cats.length <= 1 ? pw / 2 : (i * pw) / (cats.length - 1));
    const y = (v) => m.t + ph - (v / max) * ph;
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      svg.append(node("line", { x1: m.l, x2: m.l + pw, y1: y(v), y2: y(v), class: "grid" }));
      svg.append(node("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
    }
    const every = Math.ceil(cats.length / Math.max(1, Math.floor(pw / 60)));
    cats.forEach((c, i) => {
      if (i % every === 0) svg.append(node("text", { x: x(i), y: height - m.b + 16, "text-anchor": "middle", class: "cat" }, c));
    });
    for (const t of targets) {
      svg.append(node("line", { x1: m.l, x2: m.l + pw, y1: y(t.value), y2: y(t.value), class: "target" }));
      svg.append(node("text", { x: m.l + pw - 2, y: y(t.value) - 4, "text-anchor": "end", class: "target-label" }, t.label));
    }
    for (const s of series) {
      let d = "";
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        d += (d && s.values[i - 1] !== null && s.values[i - 1] !== undefined ? "L" : "M") + x(i) + "," + y(v);
        const dot = node("circle", { cx: x(i), cy: y(v), r: 4, fill: s.color });
        dot.append(node("title", {}, `${cats[i]} – ${s.name}: ${fmt(v)}`));
        svg.append(dot);
      });
      svg.insertBefore(node("path", { d, fill: "none", stroke: s.color, "stroke-width": 2.5 }), svg.children[1]);
    }
    container.append(legend(series), dataTable(opts.label, cats, series, fmt));
  }

  return { bars, line, PALETTE };
})();
