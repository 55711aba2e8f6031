// Executive dashboard: filters, tiles and SVG charts drawn from the rows embedded in this page.
// Numbers follow the KPI catalog exactly as cx_platform/lib/dashboard/data.py computes them: rows of the
// chosen segment are summed per period and each KPI is scale x sum(numerator) / sum(denominator), null
// (shown "n/a" with its reason) when the denominator is 0. No network access, no library.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("cx-data").textContent);
  const META = D.meta;
  const KPI = Object.fromEntries(D.kpis.map((k) => [k.name, k]));
  const ABSENT = new Set(D.absent);
  const DIMS = ["source", "brand", "channel"];
  const DIM_INDEX = Object.fromEntries(
    [...DIMS.map((d) => [d, D.dims[d]]), ["contact_reason", D.reasons]].map(([d, names]) => [
      d, Object.fromEntries(names.map((n, i) => [n, i]))]));
  const SPAN = { day: 90, week: 26, month: 24 }; // periods shown when no date range is picked
  const MAX_PERIODS = 10000;
  const COMPLETE = "fcr_window_complete";
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  const state = {
    granularity: "week", source: "", brand: "", channel: "", from: "", to: "", auto: true,
    dim: "channel", trend: Object.assign({}, META.default_trend),
  };

  // ---- dates (ISO strings, UTC) -------------------------------------------------------------------
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function parseISO(s) { const [y, m, d] = s.split("-").map(Number); return new Date(Date.UTC(y, m - 1, d)); }
  function iso(date) { return date.toISOString().slice(0, 10); }
  function periodStart(s, g) {
    const d = parseISO(s);
    if (g === "week") d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    else if (g === "month") d.setUTCDate(1);
    return iso(d);
  }
  function shift(s, g, n) {
    const d = parseISO(s);
    if (g === "day") d.setUTCDate(d.getUTCDate() + n);
    else if (g === "week") d.setUTCDate(d.getUTCDate() + 7 * n);
    else { d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + n); }
    return iso(d);
  }
  function periodEnd(s, g) { return iso(new Date(parseISO(shift(s, g, 1)).getTime() - 86400000)); }
  function shortDate(s) { const d = parseISO(s); return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`; }
  function periodLabel(s, g) {
    const d = parseISO(s);
    if (g === "month") return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    return (g === "week" ? "week of " : "") + shortDate(s);
  }
  function axisLabel(s, g) {
    const d = parseISO(s);
    const yy = String(d.getUTCFullYear()).slice(2);
    return g === "month" ? `${MONTHS[d.getUTCMonth()]} ${yy}` : `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${yy}`;
  }
  function periodsBetween(a, b, g) {
    const out = [];
    for (let p = a; p <= b && out.length < MAX_PERIODS; p = shift(p, g, 1)) out.push(p);
    return out;
  }

  // ---- sums and KPI values ------------------------------------------------------------------------
  function filterIndexes(extra) {
    const f = {};
    for (const dim of DIMS) {
      const v = extra && dim in extra ? extra[dim] : state[dim];
      if (v) f[dim] = v in DIM_INDEX[dim] ? DIM_INDEX[dim][v] : -1;
    }
    if (extra && extra.contact_reason !== undefined) f.contact_reason = DIM_INDEX.contact_reason[extra.contact_reason];
    return f;
  }
  // Sum every value column of the rows that match the filters, grouped by keyOf(row index).
  function aggregate(table, f, keyOf) {
    const out = new Map();
    const cols = Object.keys(table.cols);
    const keys = Object.keys(f);
    for (let i = 0; i < table.p.length; i++) {
      let ok = true;
      for (const k of keys) if (table[k][i] !== f[k]) { ok = false; break; }
      if (!ok) continue;
      const key = keyOf(i);
      let acc = out.get(key);
      if (!acc) {
        acc = {};
        for (const c of cols) acc[c] = c === COMPLETE ? true : 0;
        out.set(key, acc);
      }
      for (const c of cols) {
        const v = table.cols[c][i];
        if (c === COMPLETE) { if (v === false) acc[c] = false; } else if (v !== null) acc[c] += v;
      }
    }
    return out;
  }
  function seriesOf(g, f) {
    const t = D.rows[g];
    return aggregate(t, f || filterIndexes(), (i) => t.periods[t.p[i]]);
  }
  function reasonSeries(g, f) {
    const t = D.reason_rows[g];
    return aggregate(t, f || filterIndexes(), (i) => t.periods[t.p[i]]);
  }
  function isAbsent(k) { return ABSENT.has(k.numerator) || (k.denominator && ABSENT.has(k.denominator)); }
  function rawValue(k, acc) {
    if (!acc) return null;
    if (k.denominator) {
      const den = acc[k.denominator];
      if (!(den > 0) || acc[k.numerator] === undefined) return null;
      const v = (k.scale * acc[k.numerator]) / den;
      return Number.isFinite(v) ? v : null;
    }
    return acc[k.numerator] === undefined ? null : acc[k.numerator];
  }
  function humanize(col) {
    const words = { fcr: "FCR", csat: "CSAT", nps: "NPS", sla: "SLA", frt: "FRT" };
    return col.split("_").map((w) => words[w] || w).join(" ");
  }
  // Why k has no value in acc (one period), or null when it has one: mirrors data.null_reason.
  function reasonOf(k, acc, g) {
    if (isAbsent(k)) return "not in the KPI tables yet: re-materialize the KPI assets";
    if (!acc || !acc.segment_days) return `no data for this segment in this ${g}`;
    if (rawValue(k, acc) !== null) return null;
    if (k.denominator && !acc[k.denominator]) return `no ${humanize(k.denominator)} in this ${g}`;
    return k.null_rule;
  }
  function valueOf(k, acc, g) { return reasonOf(k, acc, g) ? null : rawValue(k, acc); }
  // One tile: mirrors data.tile (value at the period, the calendar period before, sparkline points).
  function tileData(k, series, g, period) {
    if (!period) return { period: null, value: null, previous: null, reason: "no data for this segment", spark: [] };
    const prev = shift(period, g, -1);
    const acc = series.get(period);
    const spark = [];
    for (let i = META.spark_points - 1; i >= 0; i--) {
      const p = shift(period, g, -i);
      spark.push([p, valueOf(k, series.get(p), g)]);
    }
    return {
      period, prevPeriod: prev, value: valueOf(k, acc, g), previous: valueOf(k, series.get(prev), g),
      reason: reasonOf(k, acc, g), previousReason: reasonOf(k, series.get(prev), g), spark,
      numerator: acc ? acc[k.numerator] : null, denominator: acc && k.denominator ? acc[k.denominator] : null,
      provisional: k.name === "fcr_rate" && !!acc && acc[COMPLETE] === false,
    };
  }
  function verdictOf(k, t) {
    if (t.value === null || t.previous === null || t.value === undefined || t.previous === undefined) return "n/a";
    if (k.better === null) return "neutral";
    const change = t.value - t.previous;
    if (Math.abs(change) <= 1e-9 * Math.max(1, Math.abs(t.previous))) return "flat";
    return (change > 0) === k.better ? "better" : "worse";
  }
  function earliestWithData(series) {
    let best = null;
    for (const [p, acc] of series) if (acc.segment_days > 0 && (!best || p < best)) best = p;
    return best;
  }
  function latestWithData(series, from, to) {
    let best = null;
    for (const [p, acc] of series) if (acc.segment_days > 0 && (!from || p >= from) && (!to || p <= to) && (!best || p > best)) best = p;
    return best;
  }

  // ---- formatting -----------------------------------------------------------------------------------
  const NF0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  function money(v) {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: META.currency,
        maximumFractionDigits: Math.abs(v) >= 1000 ? 0 : 2 }).format(v);
    } catch (e) { return `${META.currency} ${v.toFixed(2)}`; }
  }
  function duration(s) {
    const a = Math.abs(s);
    if (a < 90) return `${s.toFixed(0)} s`;
    if (a < 5400) return `${(s / 60).toFixed(1)} min`;
    if (a < 172800) return `${(s / 3600).toFixed(1)} h`;
    return `${(s / 86400).toFixed(1)} days`;
  }
  function fmt(k, v) {
    if (v === null || v === undefined) return "n/a";
    switch (k.unit) {
      case "count": return NF0.format(v);
      case "ratio": return `${(100 * v).toFixed(1)}%`;
      case "seconds": return duration(v);
      case "currency": return money(v);
      case "multiple": return `${v.toFixed(Math.abs(v) < 10 ? 2 : 1)}\u00d7`;
      case "score": return v.toFixed(2);
      case "nps": return `${v > 0 ? "+" : ""}${v.toFixed(0)}`;
      default: return String(v);
    }
  }
  function signed(x, digits) { return `${x > 0 ? "+" : x < 0 ? "\u2212" : "\u00b1"}${Math.abs(x).toFixed(digits)}`; }
  function changeText(k, t, g) {
    if (t.value === null) return "";
    if (t.previous === null) return `no value in the previous ${g} to compare`;
    const d = t.value - t.previous;
    let mag;
    if (k.unit === "ratio") mag = `${signed(100 * d, 1)} pts`;
    else if (k.unit === "nps") mag = `${signed(d, 1)} pts`;
    else if (t.previous !== 0) mag = `${signed((100 * d) / Math.abs(t.previous), 1)}%`;
    else mag = signed(d, 0);
    const arrow = verdictOf(k, t) === "flat" ? "\u25ac" : d > 0 ? "\u25b2" : "\u25bc";
    return `${arrow} ${mag} vs ${fmt(k, t.previous)} the ${g} before`;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [a, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined && v !== false) node.setAttribute(a, v);
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [a, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(a, v);
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function tip(text) { return svg("title", {}, text); }
  function kpiTip(k) { return `${k.title}: ${k.definition}\nFormula: ${k.formula} (${k.unit}). Null rule: ${k.null_rule}.`; }

  // ---- charts ---------------------------------------------------------------------------------------
  function linePath(points, x, y) {
    let d = "";
    let pen = false;
    points.forEach(([, v], i) => {
      if (v === null) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  }
  function sparkline(k, points, verdict) {
    const W = 200, H = 30, vals = points.map((p) => p[1]).filter((v) => v !== null);
    const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
      "aria-label": `${k.title}, last ${points.length} periods` });
    if (!vals.length) return box;
    const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
    const x = (i) => (points.length === 1 ? W / 2 : (i * (W - 4)) / (points.length - 1) + 2);
    const y = (v) => H - 3 - ((v - lo) / span) * (H - 6);
    box.append(svg("path", { d: linePath(points, x, y), fill: "none", stroke: "#0b5cad", "stroke-width": 1.6,
      "vector-effect": "non-scaling-stroke" }));
    points.forEach(([p, v], i) => {
      if (v === null) return;
      const last = i === points.length - 1;
      const isolated = (i === 0 || points[i - 1][1] === null) && (i === points.length - 1 || points[i + 1][1] === null);
      if (last || isolated) box.append(svg("circle", { cx: x(i), cy: y(v), r: last ? 2.6 : 1.6,
        fill: last ? (verdict === "worse" ? "#c62828" : verdict === "better" ? "#1a7f37" : "#0b5cad") : "#0b5cad" },
        tip(`${p}: ${fmt(k, v)}`)));
    });
    return box;
  }
  // 1, 2, 2.5 or 5 x a power of ten: round axis values.
  function niceStep(raw) {
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / power;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * power;
  }
  // A time-series chart of one or more lines over the calendar periods, with anomalies marked.
  function lineChart(lines, periods, g, opts) {
    const vals = lines.flatMap((l) => l.points.map((p) => p[1])).filter((v) => v !== null);
    const W = opts.width || 1200, H = vals.length ? opts.height || 170 : 40, L = 70, R = 14, T = 10, B = 24;
    const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label });
    if (!vals.length) {
      box.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty-chart" }, opts.empty));
      return box;
    }
    const k = lines[0].kpi;
    const bottom = Math.min(0, ...vals);
    const top = Math.max(...vals) > bottom ? Math.max(...vals) : bottom + (k.unit === "ratio" ? 0.1 : 1);
    const step = niceStep((top - bottom) / 3);
    const lo = step * Math.floor(bottom / step + 1e-9);
    let hi = lo + step * Math.ceil((top - lo) / step - 1e-9);
    if (k.unit === "ratio" && top <= 1) hi = Math.min(hi, 1);
    const n = periods.length;
    const x = (i) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    for (let v = lo; v <= hi + step * 1e-6; v += step) {
      box.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e7eb" }));
      box.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(k, v)));
    }
    const ticks = Math.min(n, 6);
    for (let j = 0; j < ticks; j++) {
      const i = ticks === 1 ? 0 : Math.round((j * (n - 1)) / (ticks - 1));
      box.append(svg("text", { x: x(i), y: H - 6, "text-anchor": j === 0 ? "start" : j === ticks - 1 ? "end" : "middle" },
        axisLabel(periods[i], g)));
    }
    if (opts.current) {
      const i = periods.indexOf(opts.current);
      if (i >= 0) box.append(svg("line", { x1: x(i), x2: x(i), y1: T, y2: H - B, stroke: "#0b5cad",
        "stroke-dasharray": "3 3", class: "current-marker" }, tip(`shown above: ${periodLabel(opts.current, g)}`)));
    }
    for (const line of lines) {
      box.append(svg("path", { d: linePath(line.points, x, y), fill: "none", stroke: line.color,
        "stroke-width": 2, class: "series" }));
      if (n <= 160) line.points.forEach(([p, v], i) => {
        if (v !== null) box.append(svg("circle", { cx: x(i), cy: y(v), r: 2.4, fill: line.color },
          tip(`${line.kpi.title}, ${periodLabel(p, g)}: ${fmt(line.kpi, v)}`)));
      });
    }
    for (const a of opts.anomalies || []) {
      const i = periods.indexOf(a.period);
      if (i < 0) continue;
      const shown = lines[0].points[i][1];
      const v = shown !== null ? shown : a.value;
      if (v === null || v === undefined) continue;
      box.append(svg("circle", { cx: x(i), cy: y(Math.min(Math.max(v, lo), hi)), r: 5.5, fill: "none",
        stroke: "#c62828", "stroke-width": 2.2, class: "anomaly-marker" },
        tip(`Anomaly on ${a.date}: ${fmt(k, a.value)} against an expected ${fmt(k, a.expected)}` +
          ` (${[a.change, a.direction, a.score !== null && a.score !== undefined ? `score ${Number(a.score).toFixed(1)}` : null].filter(Boolean).join(", ")})` +
          `${a.drivers ? `. Drivers: ${a.drivers}` : ""}`)));
    }
    return box;
  }

  // ---- view state -----------------------------------------------------------------------------------
  function segmentFilters() { const f = {}; for (const d of DIMS) if (state[d]) f[d] = state[d]; return f; }
  function segmentLabel() {
    const parts = DIMS.filter((d) => state[d]).map((d) => `${d} ${state[d]}`);
    return parts.length ? parts.join(", ") : "all segments";
  }
  function sameFilters(a, b) {
    const ka = Object.keys(a || {}), kb = Object.keys(b || {});
    return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
  }
  function computeView() {
    const g = state.granularity;
    const f = filterIndexes();
    const series = seriesOf(g, f);
    const days = seriesOf("day", f);
    const lastDay = latestWithData(days);
    const firstDay = earliestWithData(days);
    let to = state.to, from = state.from;
    if (state.auto || !to) {
      to = lastDay || META.last_date;
      from = shift(periodStart(to, g), g, -(SPAN[g] - 1));
      if (firstDay && from < periodStart(firstDay, g)) from = periodStart(firstDay, g);  // no empty lead-in
    }
    if (!from) from = META.first_date;
    const fromP = periodStart(from, g), toP = periodStart(to, g);
    const current = latestWithData(series, fromP, toP);
    // A period the data does not fully cover (it starts or ends inside it): volumes are not like for like.
    const partial = (p) => !!p && g !== "day" && !!firstDay && (firstDay > p || lastDay < periodEnd(p, g));
    return { g, f, series, from, to, fromP, toP, current, firstDay, lastDay, periods: periodsBetween(fromP, toP, g),
      partial: partial(current), previousPartial: !!current && partial(shift(current, g, -1)) };
  }

  // ---- sections -------------------------------------------------------------------------------------
  function renderContext(v) {
    const ctx = $("#context");
    ctx.replaceChildren();
    $("#from").value = v.from; $("#to").value = v.to;
    if (!v.current) {
      ctx.append("No data for ", el("span", { class: "seg" }, segmentLabel()), ` between ${shortDate(v.from)} and ${shortDate(v.to)}. `);
      if (v.lastDay) {
        const jump = el("button", { type: "button", id: "jump" }, `Show its latest data (${shortDate(v.lastDay)})`);
        jump.onclick = () => { state.auto = true; update(); };
        ctx.append(jump);
      }
      return;
    }
    const t = D.rows[v.g];
    const bySource = aggregate(t, Object.assign({ p: t.periods.indexOf(v.current) }, v.f), (i) => D.dims.source[t.source[i]]);
    const sources = [...bySource.entries()].sort((a, b) => (b[1].contacts || 0) - (a[1].contacts || 0))
      .map(([name, acc]) => `${name} (${acc.contacts ? `${NF0.format(acc.contacts)} contacts` : "survey answers only"})`).join(", ");
    ctx.append("Showing ", el("strong", { id: "current-period", "data-period": v.current }, periodLabel(v.current, v.g)),
      ` (${shortDate(v.current)} to ${shortDate(periodEnd(v.current, v.g))}), the latest ${v.g} with data for `,
      el("span", { class: "seg" }, segmentLabel()), state.auto ? "" : " in the chosen range",
      `, compared with the ${v.g} before. Charts: ${shortDate(v.fromP)} to ${shortDate(periodEnd(v.toP, v.g))}.`,
      el("br"), el("span", { class: "sources" }, `Data in this ${v.g} comes from ${sources}; a KPI a source does not measure shows as n/a with the reason.`));
    if (v.partial || v.previousPartial) {
      const which = v.partial ? `this ${v.g} only has data from ${shortDate(v.firstDay > v.current ? v.firstDay : v.current)} to ${shortDate(v.lastDay < periodEnd(v.current, v.g) ? v.lastDay : periodEnd(v.current, v.g))}`
        : `the ${v.g} before is only partly covered by the data`;
      ctx.append(el("br"), el("span", { class: "badge", id: "partial" }, `partial ${v.g}`),
        ` ${which}: volume changes are not like for like (rates still are).`);
    }
  }

  function renderCoverage(v) {
    const t = D.rows.month;
    const byMonth = aggregate(t, v.f, (i) => t.periods[t.p[i]]);
    const first = periodStart(META.first_date, "month"), last = periodStart(META.last_date, "month");
    const months = periodsBetween(first, last, "month");
    const W = 1200, H = 40, n = months.length;
    const max = Math.sqrt(Math.max(1, ...Array.from(byMonth.values()).map((a) => a.contacts || 0)));
    const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "contacts per month over all the data" });
    const bw = W / n;
    const a = months.indexOf(periodStart(v.from, "month")), b = months.indexOf(periodStart(v.to, "month"));
    if (a >= 0 || b >= 0) box.append(svg("rect", { x: Math.max(a, 0) * bw, y: 0, width: (Math.max(b, a, 0) - Math.max(a, 0) + 1) * bw,
      height: H - 12, fill: "#ddf4ff" }));
    months.forEach((m, i) => {
      const acc = byMonth.get(m);
      const c = acc ? acc.contacts || 0 : 0;
      const hgt = acc && acc.segment_days ? Math.max(3, ((H - 14) * Math.sqrt(c)) / max) : 0;
      const r = svg("rect", { x: i * bw, y: H - 12 - hgt, width: Math.max(bw - 0.5, 0.8), height: hgt, fill: "#0b5cad",
        "data-month": m }, tip(`${periodLabel(m, "month")}: ${NF0.format(c)} contacts`));
      box.append(r);
      if (m.endsWith("-01-01") && (i === 0 || parseISO(m).getUTCFullYear() % (n > 120 ? 4 : 1) === 0))
        box.append(svg("text", { x: i * bw, y: H - 1 }, m.slice(0, 4)));
    });
    box.addEventListener("click", (ev) => {
      const rect = box.getBoundingClientRect();
      const i = Math.min(n - 1, Math.max(0, Math.floor(((ev.clientX - rect.left) / rect.width) * n)));
      state.auto = false;
      state.to = periodEnd(months[i], "month") > META.last_date ? META.last_date : periodEnd(months[i], "month");
      state.from = shift(periodStart(state.to, state.granularity), state.granularity, -(SPAN[state.granularity] - 1));
      update();
    });
    $("#coverage").replaceChildren(box);
  }

  function snapshotValues() {
    const base = D.customer_base;
    if (!base) return { values: null, reason: "the customer base table has not been materialized" };
    if (state.brand || state.channel) return { values: null, reason: "the customer snapshot has no brand or channel" };
    if (state.source) {
      const values = base.by_source[state.source];
      return values ? { values } : { values: null, reason: `the customer snapshot covers ${base.sources.join(", ")} only` };
    }
    return { values: base.total };
  }

  function renderTiles(v) {
    const snap = snapshotValues();
    for (const node of $$(".tile[data-kpi]")) {
      const k = KPI[node.dataset.kpi];
      const value = $(".t-value", node), change = $(".t-change", node), spark = $(".t-spark", node), extra = $(".t-extra", node);
      change.replaceChildren(); spark.replaceChildren(); extra.replaceChildren();
      let t, reason;
      if (k.table === "kpi_customer_base") {
        const raw = snap.values ? snap.values[k.name] : null;
        t = { value: raw === undefined ? null : raw, previous: null };
        reason = snap.values ? (t.value === null ? k.null_rule : null) : snap.reason;
        if (t.value !== null) extra.append(`${NF0.format(snap.values.customers)} customers`);
      } else {
        t = tileData(k, v.series, v.g, v.current);
        reason = t.reason;
        const verdict = verdictOf(k, t);
        change.className = `t-change ${verdict}`;
        change.setAttribute("data-verdict", verdict);
        change.append(t.value === null ? "" : changeText(k, t, v.g));
        spark.append(sparkline(k, t.spark, verdict));
        if ((v.partial || v.previousPartial) && !k.denominator) {
          extra.append(el("span", { class: "badge", title: "The data does not cover the whole period: compare volumes with care." }, `partial ${v.g}`));
        }
        if (k.name === "fcr_rate") {
          extra.append(el("span", { class: "badge info" }, `${META.fcr_window_days}-day window`));
          if (t.provisional) extra.append(" ", el("span", { class: "badge", title: "Some days of this period have fewer than 7 days of later data: repeat contacts may still land." }, "provisional"));
        }
        if (k.name === "deflection_rate" && t.value !== null) {
          const saved = v.series.get(v.current).deflection_savings;
          if (saved !== undefined) extra.append(`saved ${money(saved)}`);
        }
      }
      node.dataset.value = t.value === null ? "" : String(t.value);
      node.dataset.period = v.current || "";
      value.className = t.value === null ? "t-value na" : "t-value";
      value.textContent = fmt(k, t.value);
      const old = $(".t-reason", node);
      if (old) old.remove();
      if (t.value === null) value.after(el("div", { class: "t-reason" }, reason || "no value"));
    }
  }

  function statLine(k, acc, g) {
    const value = valueOf(k, acc, g);
    return value === null ? el("span", { class: "na-note" }, "n/a", el("small", {}, reasonOf(k, acc, g))) : fmt(k, value);
  }

  function renderPanels(v) {
    const acc = v.current ? v.series.get(v.current) : null;
    const g = v.g;
    const range = v.periods.map((p) => v.series.get(p)).filter(Boolean);
    // FCR
    const fcr = KPI.fcr_rate;
    const fcrPanel = $("#panel-fcr");
    const ft = tileData(fcr, v.series, g, v.current);
    fcrPanel.replaceChildren(
      el("h4", {}, "First contact resolution ", el("span", { class: "badge info" }, `${META.fcr_window_days}-day repeat window`),
        ft.provisional ? [" ", el("span", { class: "badge" }, "provisional")] : null),
      el("div", { class: "big", "data-kpi": "fcr_rate" }, statLine(fcr, acc, g)),
      el("div", { class: "sub" }, ft.value === null ? "" :
        `${NF0.format(acc.fcr_first_contact_resolutions)} of ${NF0.format(acc.fcr_resolved_contacts)} resolved contacts with a known customer had no repeat contact on the same issue within ${META.fcr_window_days} days.`),
      el("div", { class: "sub" }, ft.provisional
        ? `Provisional: part of this ${g} is less than ${META.fcr_window_days} days before the latest data landed, so repeat contacts may still arrive and lower it.`
        : `Final: every day of this ${g} has its ${META.fcr_window_days} following days of data.`));
    // Deflection
    const defl = KPI.deflection_rate;
    const savedRange = range.reduce((s, a) => s + (a.deflection_savings || 0), 0);
    const dv = valueOf(defl, acc, g);
    $("#panel-deflection").replaceChildren(
      el("h4", {}, "Deflection / containment and its savings"),
      el("div", { class: "big", "data-kpi": "deflection_rate" }, statLine(defl, acc, g)),
      el("div", { class: "sub" }, dv === null ? "" :
        `${NF0.format(acc.deflected_contacts)} of ${NF0.format(acc.bot_contacts)} contacts that entered automation were resolved there, with no hand-off and no repeat contact within ${META.fcr_window_days} days.`),
      el("div", {}, `Savings in this ${g}: `, el("strong", { "data-kpi": "deflection_savings" },
        acc && acc.deflection_savings !== undefined ? money(acc.deflection_savings) : "n/a"),
        ` \u00b7 over the charted range: ${money(savedRange)}`),
      el("div", { class: "sub", title: KPI.deflection_savings.definition }, `Saving = ${KPI.deflection_savings.definition.toLowerCase()} (unit costs from economics.yaml, ${META.currency}).`));
    // CSAT: surveyed vs semantic, with coverage
    const side = (title, rate, coverage, countCol, what) => el("div", { class: "csat-side", title: kpiTip(rate) },
      el("div", { class: "sub" }, title),
      el("div", { class: "big", "data-kpi": rate.name }, statLine(rate, acc, g)),
      el("div", { class: "meter" }, el("span", { style: `width:${Math.round(100 * (valueOf(coverage, acc, g) || 0))}%` })),
      el("div", { class: "sub", "data-kpi": coverage.name }, "coverage ", statLine(coverage, acc, g),
        acc && acc[countCol] !== undefined ? ` (${NF0.format(acc[countCol])} ${what} of ${NF0.format(acc.contacts || 0)} contacts)` : ""));
    const lines = [
      { kpi: KPI.csat_rate, color: "#9a6700", points: v.periods.map((p) => [p, valueOf(KPI.csat_rate, v.series.get(p), g)]) },
      { kpi: KPI.semantic_csat_rate, color: "#0b5cad", points: v.periods.map((p) => [p, valueOf(KPI.semantic_csat_rate, v.series.get(p), g)]) },
    ];
    $("#panel-csat").replaceChildren(
      el("h4", {}, "Surveyed vs semantic CSAT, with coverage"),
      el("div", { class: "pair" },
        side("Surveyed: ratings 4-5 of 1-5 answers", KPI.csat_rate, KPI.csat_coverage, "csat_responses", "ratings"),
        side("Semantic: predicted from every transcript", KPI.semantic_csat_rate, KPI.semantic_coverage, "semantic_scored", "scored"),
        el("div", {}, el("div", { class: "sub" },
          el("span", { class: "dot", style: "background:#9a6700" }), " surveyed ",
          el("span", { class: "dot", style: "background:#0b5cad" }), " semantic, over the charted range"),
          el("div", { class: "chart" }, lineChart(lines, v.periods, g, { width: 640, height: 170, label: "surveyed and semantic CSAT",
            empty: "no CSAT values in this range for this segment", current: v.current })))));
  }

  function anomaliesFor(kpiName, g) {
    if (!D.anomalies) return [];
    const want = segmentFilters();
    return D.anomalies
      .filter((a) => (!kpiName || a.kpi === kpiName) && a.filters && sameFilters(a.filters, want) && a.date)
      .map((a) => Object.assign({ period: periodStart(a.date, g) }, a));
  }

  function renderTrends(v) {
    for (const pick of $$(".trend-kpi")) {
      const tier = pick.dataset.tier;
      const k = KPI[state.trend[tier]] || KPI[pick.value];
      pick.value = k.name;
      const points = v.periods.map((p) => [p, valueOf(k, v.series.get(p), v.g)]);
      const chart = lineChart([{ kpi: k, color: "#0b5cad", points }], v.periods, v.g, {
        label: `${k.title} per ${v.g}`, current: v.current, anomalies: anomaliesFor(k.name, v.g),
        empty: `no ${k.title} values in this range for ${segmentLabel()}${isAbsent(k) ? " (not in the KPI tables yet)" : ""}`,
      });
      chart.prepend(tip(kpiTip(k)));
      $(`#trend-${tier}`).replaceChildren(chart);
      $(`#trend-caption-${tier}`).textContent = `${k.title} per ${v.g}`;
    }
  }

  function reasonCounts(g, period, f) {
    const t = D.reason_rows[g];
    const out = new Map();
    if (!period) return out;
    const pi = t.periods.indexOf(period);
    if (pi < 0) return out;
    const byReason = aggregate(t, Object.assign({ p: pi }, f), (i) => D.reasons[t.contact_reason[i]]);
    for (const [r, acc] of byReason) if (acc.contacts) out.set(r, acc);
    return out;
  }
  // Mirrors data.contact_drivers.
  function drivers(g, period, f) {
    const now = reasonCounts(g, period, f), before = reasonCounts(g, shift(period, g, -1), f);
    const total = [...now.values()].reduce((s, a) => s + a.contacts, 0);
    const totalBefore = [...before.values()].reduce((s, a) => s + a.contacts, 0);
    const rows = [...now.entries()].sort((a, b) => b[1].contacts - a[1].contacts || (a[0] < b[0] ? -1 : 1)).map(([reason, acc]) => {
      const share = (100 * acc.contacts) / total;
      const prior = totalBefore ? (100 * (before.has(reason) ? before.get(reason).contacts : 0)) / totalBefore : null;
      return { reason, contacts: acc.contacts, share, acc, previous_contacts: totalBefore ? (before.has(reason) ? before.get(reason).contacts : 0) : null,
        share_change: prior === null ? null : share - prior };
    });
    const candidates = rows.filter((r) => r.reason !== META.unlabelled && r.share_change !== null &&
      r.contacts >= META.emerging_min_contacts && r.share_change >= META.emerging_min_share_points);
    candidates.sort((a, b) => b.share_change - a.share_change || b.contacts - a.contacts);
    return { total, totalBefore, rows, emerging: candidates[0] || null };
  }

  function renderDrivers(v) {
    const body = $("#drivers-body");
    body.replaceChildren();
    if (!v.current) { body.append(el("p", { class: "empty" }, "No data for this segment in the chosen range.")); return; }
    const dv = drivers(v.g, v.current, v.f);
    const table = el("table", { id: "drivers-table" }, el("thead", {}, el("tr", {},
      el("th", {}, "Contact reason"), el("th", {}, "Contacts"), el("th", {}, "Share"), el("th", {}, `Share vs the ${v.g} before`))));
    const tbody = el("tbody");
    for (const r of dv.rows.slice(0, 8)) {
      tbody.append(el("tr", { "data-reason": r.reason },
        el("td", {}, r.reason, dv.emerging && dv.emerging.reason === r.reason ? [" ", el("span", { class: "badge" }, "emerging")] : null),
        el("td", {}, NF0.format(r.contacts)),
        el("td", {}, el("span", { class: "bar", style: `width:${Math.max(2, r.share)}px` }), ` ${r.share.toFixed(1)}%`),
        el("td", { class: r.share_change === null ? "na" : "" }, r.share_change === null ? "n/a: no data the " + v.g + " before" : `${signed(r.share_change, 1)} pts`)));
    }
    table.append(tbody);
    let callout;
    if (!dv.totalBefore) callout = el("div", { class: "emerging" }, el("strong", {}, "Emerging: n/a. "), `No contacts in the ${v.g} before to compare with (a gap in the data).`);
    else if (dv.emerging) callout = el("div", { class: "emerging", id: "emerging" }, el("strong", {}, `Emerging: ${dv.emerging.reason}. `),
      `Its share of contacts rose ${signed(dv.emerging.share_change, 1)} pts to ${dv.emerging.share.toFixed(1)}% (${NF0.format(dv.emerging.previous_contacts)} \u2192 ${NF0.format(dv.emerging.contacts)} contacts), the fastest rise against the ${v.g} before.`);
    else callout = el("div", { class: "emerging" }, el("strong", {}, "No emerging reason. "),
      `No reason gained ${META.emerging_min_share_points} pts of share with at least ${META.emerging_min_contacts} contacts against the ${v.g} before.`);
    const side = el("div", {}, callout,
      el("p", { class: "sub" }, `${NF0.format(dv.total)} contacts in ${periodLabel(v.current, v.g)}; reasons are interaction_labels.contact_reason, read from every transcript by the contact-reason model.`));
    if (D.topics && D.topics.length) {
      const list = el("ol", { id: "topics" }, D.topics.slice(0, 8).map((t) => el("li", { "data-topic": t.topic },
        `${t.topic} (${NF0.format(t.contacts || 0)} contacts`,
        t.growth !== null && t.growth !== undefined ? `, share \u00d7${Number(t.growth).toFixed(1)}` : "", ")",
        t.emerging ? [" ", el("span", { class: "badge" }, t.new ? "new" : "growing")] : null)));
      side.append(el("h4", {}, "Topics found in the transcripts", D.topics[0].date ? ` (window ending ${D.topics[0].date})` : "",
        el("span", { class: "hint" }, "contact_topics, all segments; share \u00d7: recent days vs the days before")), list);
    }
    body.append(el("div", { class: "drivers" }, el("div", {}, el("h4", {}, `Top contact drivers, ${periodLabel(v.current, v.g)}`), table), side));
  }

  const DRILL_KPIS = ["aht_seconds", "fcr_rate", "sla_attainment", "csat_rate", "semantic_csat_rate", "nps", "cost_per_resolution"];
  function renderDrilldown(v) {
    const body = $("#drilldown-body");
    body.replaceChildren();
    for (const b of $$(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.dim === state.dim));
    if (!v.current) { body.append(el("p", { class: "empty" }, "No data for this segment in the chosen range.")); return; }
    const prev = shift(v.current, v.g, -1);
    let rows, kpis, labelOf;
    if (state.dim === "contact_reason") {
      const dv = drivers(v.g, v.current, v.f);
      kpis = ["csat_rate", "csat_coverage", "semantic_csat_rate"].map((n) => KPI[n]);
      rows = dv.rows.map((r) => ({ name: r.reason, acc: Object.assign({ segment_days: 1 }, r.acc), contacts: r.contacts,
        prevContacts: r.previous_contacts }));
      labelOf = "Contact reason";
    } else {
      const t = D.rows[v.g];
      const dim = state.dim;
      const pi = t.periods.indexOf(v.current), pj = t.periods.indexOf(prev);
      const now = aggregate(t, Object.assign({ p: pi }, v.f), (i) => D.dims[dim][t[dim][i]]);
      const before = pj < 0 ? new Map() : aggregate(t, Object.assign({ p: pj }, v.f), (i) => D.dims[dim][t[dim][i]]);
      kpis = DRILL_KPIS.map((n) => KPI[n]);
      rows = [...now.entries()].map(([name, acc]) => ({ name, acc, contacts: acc.contacts || 0,
        prevContacts: before.has(name) ? before.get(name).contacts || 0 : (pj < 0 ? null : 0) }))
        .sort((a, b) => b.contacts - a.contacts || (a.name < b.name ? -1 : 1));
      labelOf = dim.charAt(0).toUpperCase() + dim.slice(1);
    }
    const total = rows.reduce((s, r) => s + r.contacts, 0);
    const head = el("tr", {}, el("th", {}, labelOf), el("th", {}, "Contacts"), el("th", {}, "Share"),
      el("th", {}, `vs the ${v.g} before`),
      kpis.map((k) => el("th", { title: kpiTip(k) }, k.title, " ", el("a", { class: "note", href: `#def-${k.name}` }, `[${k.note}]`))));
    const tbody = el("tbody");
    const LIMIT = 15;
    for (const r of rows.slice(0, LIMIT)) {
      const clickable = state.dim !== "contact_reason";
      const tr = el("tr", clickable ? { "data-value": r.name, title: `Filter on ${state.dim} ${r.name}` } : { "data-reason": r.name },
        el("td", {}, r.name),
        el("td", {}, NF0.format(r.contacts)),
        el("td", {}, total ? `${((100 * r.contacts) / total).toFixed(1)}%` : "n/a"),
        el("td", { class: r.prevContacts === null ? "na" : "" }, r.prevContacts === null ? "n/a" :
          r.prevContacts === 0 ? (r.contacts ? "new" : "\u00b10") : `${signed((100 * (r.contacts - r.prevContacts)) / r.prevContacts, 0)}%`),
        kpis.map((k) => {
          const val = valueOf(k, r.acc, v.g);
          return el("td", val === null ? { class: "na", title: reasonOf(k, r.acc, v.g) } : { "data-kpi": k.name }, fmt(k, val));
        }));
      if (clickable) tr.onclick = () => { state[state.dim] = r.name; state.auto = true; update(); };
      tbody.append(tr);
    }
    if (rows.length > LIMIT) {
      const rest = rows.slice(LIMIT).reduce((s, r) => s + r.contacts, 0);
      tbody.append(el("tr", {}, el("td", { colspan: 4 + kpis.length, class: "empty" },
        `and ${rows.length - LIMIT} more, ${NF0.format(rest)} contacts`)));
    }
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 4 + kpis.length, class: "empty" }, "No contacts in this period.")));
    body.append(el("table", { id: "drilldown-table" }, el("thead", {}, head), tbody));
  }

  function renderAnomalies(v) {
    const body = $("#anomalies-body");
    body.replaceChildren();
    if (!D.anomalies) {
      body.append(el("p", { class: "empty" }, "No anomaly table in the lake yet (kpi_anomalies is written by the monitoring assets)."));
      return;
    }
    // Anomalies of the chosen segment and of its sub-segments (monitoring scores sources and
    // source x channel); only those of exactly the chosen segment are marked on the charts.
    const want = segmentFilters();
    const inScope = (a) => (a.filters ? Object.entries(want).every(([d, x]) => a.filters[d] === x) : !Object.keys(want).length);
    const inRange = D.anomalies.filter((a) => a.date && a.date >= v.from && a.date <= v.to && inScope(a));
    if (!inRange.length) {
      body.append(el("p", { class: "empty" }, `No anomalies flagged between ${shortDate(v.from)} and ${shortDate(v.to)} for ${segmentLabel()}.`));
      return;
    }
    if (!inRange.some((a) => a.filters && sameFilters(a.filters, want)))
      body.append(el("p", { class: "sub" }, "Monitoring scores each source and source x channel: choose one of the segments below to see its anomalies marked on the charts."));
    inRange.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : (b.score || 0) - (a.score || 0)));
    const tbody = el("tbody", {}, inRange.slice(0, 20).map((a) => {
      const k = KPI[a.kpi] || { title: a.kpi, unit: "", definition: "" };
      const row = el("tr", a.filters ? { class: "anomaly-row", "data-kpi": a.kpi, "data-value": a.segment,
        title: `Show ${a.segment || "all segments"} around ${a.date}` } : { class: "anomaly-row", "data-kpi": a.kpi },
        el("td", {}, a.date), el("td", { title: k.definition }, k.title),
        el("td", {}, a.segment || "all"), el("td", {}, fmt(k, a.value)), el("td", {}, fmt(k, a.expected)),
        el("td", {}, a.score === null || a.score === undefined ? "n/a" : Number(a.score).toFixed(1)),
        el("td", { class: a.direction === "good" ? "better" : a.direction === "bad" ? "worse" : "neutral" },
          [a.change, a.direction].filter(Boolean).join(", ")), el("td", { class: "drivers-cell" }, a.drivers || ""));
      if (a.filters) row.onclick = () => {
        for (const d of DIMS) state[d] = a.filters[d] || "";
        Object.assign(state, { auto: false, from: v.from, to: v.to });  // keep the anomaly in view
        if (k.tier && state.trend[k.tier] !== undefined) state.trend[k.tier] = a.kpi;
        update();
      };
      return row;
    }));
    body.append(el("table", { class: "anomaly-table" }, el("thead", {}, el("tr", {}, ["Date", "KPI", "Segment", "Value", "Expected", "Score",
      "Change", "Drivers"].map((h) => el("th", {}, h)))), tbody));
    if (inRange.length > 20) body.append(el("p", { class: "empty" }, `and ${inRange.length - 20} more in this range`));
  }

  // ---- wiring -----------------------------------------------------------------------------------------
  function writeHash() {
    const q = new URLSearchParams();
    q.set("g", state.granularity);
    for (const d of DIMS) if (state[d]) q.set(d, state[d]);
    if (!state.auto) { q.set("from", state.from); q.set("to", state.to); }
    if (state.dim !== "channel") q.set("dim", state.dim);
    history.replaceState(null, "", `#${q.toString()}`);
  }
  function readHash() {
    const q = new URLSearchParams(location.hash.slice(1));
    if (["day", "week", "month"].includes(q.get("g"))) state.granularity = q.get("g");
    for (const d of DIMS) if (q.get(d)) state[d] = q.get(d);
    if (q.get("from") && q.get("to")) { state.from = q.get("from"); state.to = q.get("to"); state.auto = false; }
    if (q.get("dim")) state.dim = q.get("dim");
  }
  function syncControls() {
    for (const r of $$("input[name=granularity]")) r.checked = r.value === state.granularity;
    $("#source").value = state.source; $("#brand").value = state.brand; $("#channel").value = state.channel;
  }
  function update() {
    try {
      syncControls();
      const v = computeView();
      renderContext(v); renderCoverage(v); renderTiles(v); renderPanels(v); renderTrends(v);
      renderDrivers(v); renderDrilldown(v); renderAnomalies(v);
      writeHash();
      document.body.dataset.period = v.current || "";
      document.body.dataset.ready = "true";
    } catch (err) {
      $("#context").textContent = `The dashboard could not be drawn: ${err}`;
      throw err;
    }
  }

  for (const r of $$("input[name=granularity]")) r.addEventListener("change", () => { state.granularity = r.value; update(); });
  for (const dim of ["source", "channel"]) $(`#${dim}`).addEventListener("change", (e) => { state[dim] = e.target.value; state.auto = true; update(); });
  $("#brand").addEventListener("change", (e) => {
    const value = e.target.value.trim();
    state.brand = value && !(value in DIM_INDEX.brand) ? state.brand : value;
    state.auto = true; update();
  });
  for (const id of ["from", "to"]) $(`#${id}`).addEventListener("change", () => {
    const from = $("#from").value, to = $("#to").value;
    if (!from || !to) return;
    state.from = from <= to ? from : to; state.to = from <= to ? to : from; state.auto = false; update();
  });
  $("#latest").addEventListener("click", () => { state.auto = true; update(); });
  $("#reset").addEventListener("click", () => {
    Object.assign(state, { granularity: "week", source: "", brand: "", channel: "", from: "", to: "", auto: true, dim: "channel" });
    update();
  });
  for (const b of $$(".tabs button")) b.addEventListener("click", () => { state.dim = b.dataset.dim; update(); });
  for (const pick of $$(".trend-kpi")) pick.addEventListener("change", () => { state.trend[pick.dataset.tier] = pick.value; update(); });

  window.cxDashboard = { data: D, kpis: KPI, state, update, seriesOf, filterIndexes, tileData, verdictOf, drivers, valueOf, computeView };
  readHash();
  update();
})();
