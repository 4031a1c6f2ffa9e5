// embstat report page. Reads the inline JSON (#embstat-data, written by embstat/output/
// html_report.cpp, keys in doc/report.md), builds the tables as DOM and each chart as a
// Vega-Lite spec rendered by vega-embed: no chart is drawn by hand.
//
// window.embstat = {ready, readyMs, errors, charts}: `ready` turns true once every chart has
// rendered or failed (readyMs: milliseconds since navigation start); `charts[id].marks` counts
// the data marks drawn; `errors` collects script errors and failed charts. Tests and `embstat
// report --png` wait for `ready`. With #export in the URL the page then renders every chart to
// PNG (2x) and SVG into <pre id="embstat-export"> as JSON {errors, charts: [{name, png, svg}]}
// (base64) and sets `exported`.
(function () {
  'use strict';

  const state = { ready: false, exported: false, errors: [], charts: {}, startMs: performance.now() };
  window.embstat = state;
  window.addEventListener('error', (e) => state.errors.push('script error: ' + (e.message || String(e))));
  window.addEventListener('unhandledrejection', (e) =>
    state.errors.push('unhandled rejection: ' + ((e.reason && e.reason.message) || String(e.reason))));

  const data = JSON.parse(document.getElementById('embstat-data').textContent);
  const models = data.models || [];
  const prov = data.provenance || {};
  const main = document.getElementById('report');
  const views = {};     // chart id -> vega View
  const pending = [];   // vega-embed promises

  // ---- small DOM and number helpers -------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }
  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const fix = (x, d) => (isNum(x) ? x.toFixed(d) : '–');
  const int = (x) => (isNum(x) ? Math.round(x).toLocaleString('en-US') : '–');
  const pct = (x, d = 1) => (isNum(x) ? (100 * x).toFixed(d) + ' %' : '–');
  const bytes = (n) => {
    if (!isNum(n)) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, v = n;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + u[i] + (i ? ' (' + int(n) + ' B)' : '');
  };
  const idRange = (r) => (r.first === r.last ? String(r.first) : r.first + '–' + r.last);
  // <ul> of id ranges with their token count and decoded text; past the first 25, folded.
  const rangeItem = (r) => el('li', null, el('span', { class: 'ids', text: idRange(r) }),
                              el('span', { class: 'count', text: int(r.count) + ' tok' }), el('code', { text: r.text }));
  const rangeList = (ranges) => {
    const list = el('ul', { class: 'ranges' }, ranges.slice(0, 25).map(rangeItem));
    if (ranges.length <= 25) return list;
    return el('div', null, list, el('details', null, el('summary', { text: (ranges.length - 25) + ' more' }),
                                    el('ul', { class: 'ranges' }, ranges.slice(25).map(rangeItem))));
  };

  // ---- colours: one per model, the same in every chart -------------------------------------
  const kPalette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d',
                    '#ff9da6', '#bab0ac'];
  const kBaselineColor = '#8c8c8c';
  const names = models.map((m) => m.name);
  const colorOf = (name) => kPalette[Math.max(0, names.indexOf(name)) % kPalette.length];
  function seriesScale(extra) {
    const domain = names.slice(), range = names.map(colorOf);
    for (const e of extra || []) { domain.push(e); range.push(kBaselineColor); }
    return { domain, range };
  }

  const kConfig = {
    font: 'DejaVu Sans, system-ui, sans-serif',
    view: { stroke: null },
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
    legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 320 },
    title: { fontSize: 13, anchor: 'start', fontWeight: 'normal' },
  };

  // Embeds one Vega-Lite spec into `container`, recording the promise and the view.
  function chart(id, spec, opts) {
    const div = el('div', { class: 'chart' + (opts && opts.half ? ' half' : ''), id: 'chart-' + id, 'data-chart': id });
    const t0 = performance.now();
    const full = Object.assign({ width: 'container', autosize: { type: 'fit-x', contains: 'padding' }, config: kConfig }, spec);
    const p = vegaEmbed(div, full, {
      mode: 'vega-lite', renderer: 'svg',
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: 'embstat-' + id,
    }).then((res) => {
      views[id] = res.view;
      state.charts[id] = { marks: countMarks(res.view.scenegraph().root), ms: Math.round(performance.now() - t0) };
      if (!state.charts[id].marks) state.errors.push('chart ' + id + ': nothing drawn');
    }).catch((err) => {
      state.charts[id] = { marks: 0, error: String((err && err.message) || err) };
      state.errors.push('chart ' + id + ': ' + state.charts[id].error);
      div.appendChild(el('p', { class: 'error', text: 'This chart failed to render: ' + state.charts[id].error }));
    });
    state.charts[id] = { marks: 0, pending: true };
    pending.push(p);
    return div;
  }
  // Items of the data marks (role "mark"), not axes, legends or titles.
  function countMarks(node) {
    if (!node) return 0;
    let n = 0;
    if (node.marktype) {
      if (node.marktype === 'group') for (const g of node.items || []) n += countMarks(g);
      else if (node.role === 'mark') n += (node.items || []).length;
    } else {
      for (const m of node.items || []) n += countMarks(m);
    }
    return n;
  }

  function section(id, title, ...children) {
    const s = el('section', { id }, el('h2', { text: title }), ...children);
    main.appendChild(s);
    document.getElementById('toc').appendChild(el('a', { href: '#' + id, text: title.replace(/\s*\(.*$/, '') }));
    return s;
  }
  // Height of a chart with `n` bars of `px` pixels. A fixed height, not {step}: a step height
  // with a container width makes Vega-Lite warn that it drops "fit-y".
  const bandHeight = (n, px) => Math.max(60, n * px);
  const figure = (chartDiv, caption) => el('figure', null, chartDiv, caption ? el('figcaption', null, caption) : null);

  // ---- header --------------------------------------------------------------------------------
  document.getElementById('subtitle').textContent =
    models.map((m) => m.name + ' (' + int(m.rows) + ' × ' + m.dim + ')').join(' · ') +
    (prov.generated_utc ? ' — generated ' + prov.generated_utc : '') +
    (prov.embstat_version ? ' by embstat ' + prov.embstat_version : '');

  // ---- 1. key numbers ------------------------------------------------------------------------
  (function keyFindings() {
    const items = models.map((m) => {
      const parts = [el('strong', { text: m.name + ': ' })];
      if (m.exact) parts.push(pct(m.exact.fraction_non_negative, 2) + ' of all ' + int(m.exact.pairs) +
                              ' token pairs have cosine ≥ 0 (exact)');
      if (m.sampled) parts.push((m.exact ? '; the study\'s ' : '') + m.sampled.targets.length +
                                '-target estimate gives ' + pct(m.sampled.fraction_non_negative, 2) +
                                ' ± ' + pct(m.sampled.fraction_non_negative_std, 2));
      const control = m.baseline && (m.baseline.exact || m.baseline.sampled);
      if (control) parts.push('; a random N(0,1) matrix of the same shape: ' + pct(control.fraction_non_negative, 2));
      if (m.geometry && isNum(m.geometry.fraction_non_negative_centered))
        parts.push('; after subtracting the mean vector: ' + pct(m.geometry.fraction_non_negative_centered, 2));
      if (m.tokens && m.tokens.ranges && m.tokens.ranges.length) {
        const r = m.tokens.ranges.slice().sort((a, b) => b.count - a.count)[0];
        parts.push('; the largest run of negative-prone tokens is ids ' + idRange(r) + ' (' + int(r.count) + ' tokens)');
      }
      parts.push('.');
      return el('li', null, parts);
    });
    section('summary', 'Summary', el('ul', null, items));
  })();

  // ---- 2. the study's table: sampled vs exact, with the random baseline ----------------------
  (function tables() {
    const head1 = el('tr', null, el('th', { class: 'l', rowspan: 2, text: 'Model' }), el('th', { rowspan: 2, text: 'Rows × dim' }),
      el('th', { class: 'group sep', colspan: 7, text: 'Sampled: the study\'s method (' + (prov.samples || '?') + ' random targets, seed ' + prov.seed + ')' }),
      el('th', { class: 'group sep', colspan: 8, text: 'Exact: all pairs i < j' }));
    const cols1 = ['Min', 'Max', 'Mean', 'Median', 'Non-negative pairs', 'Negative pairs', 'Fraction ≥ 0'];
    const cols2 = ['Pairs', 'Min', 'Max', 'Mean', 'Median', 'Std', 'Fraction ≥ 0', '|cos| < 1e-6'];
    const head2 = el('tr', null, cols1.map((c, i) => el('th', { class: i === 0 ? 'sep' : null, text: c })),
                     cols2.map((c, i) => el('th', { class: i === 0 ? 'sep' : null, text: c })));
    const body = el('tbody');
    function row(label, shape, s, x, cls) {
      const cells = [el('td', { class: 'l' }, label), el('td', { text: shape })];
      if (s) {
        cells.push(el('td', { class: 'sep', text: fix(s.min, 3) }), el('td', { text: fix(s.max, 3) }),
                   el('td', { text: fix(s.mean, 3) }), el('td', { text: fix(s.median, 3) }),
                   el('td', { text: fix(s.non_negative, 2) }), el('td', { text: fix(s.negative, 2) }),
                   el('td', { title: 'mean ± standard deviation across targets' },
                      fix(s.fraction_non_negative, 4), el('span', { class: 'note', text: ' ±' + fix(s.fraction_non_negative_std, 4) })));
      } else {
        cells.push(el('td', { class: 'sep', colspan: 7, text: 'not computed' }));
      }
      if (x) {
        cells.push(el('td', { class: 'sep', text: int(x.pairs) }), el('td', { text: fix(x.min, 3) }), el('td', { text: fix(x.max, 3) }),
                   el('td', { text: fix(x.mean, 3) }), el('td', { text: fix(x.median, 3) }), el('td', { text: fix(x.std, 3) }),
                   el('td', { text: fix(x.fraction_non_negative, 4) }), el('td', { text: int(x.uncertain) }));
      } else {
        cells.push(el('td', { class: 'sep', colspan: 8, text: (cls && cls.reason) || 'not computed' }));
      }
      body.appendChild(el('tr', { class: cls && cls.name }, cells));
    }
    for (const m of models) {
      row(el('span', null, el('span', { class: 'swatch', style: 'background:' + colorOf(m.name) }), m.name),
          int(m.used_rows) + ' × ' + m.dim, m.sampled, m.exact);
    }
    for (const m of models) {
      if (!m.baseline) continue;
      row(el('span', null, 'random N(0,1)', el('br'), el('span', { class: 'note', text: 'control for ' + m.name })),
          int(m.baseline.rows) + ' × ' + m.baseline.dim,
          m.baseline.sampled, m.baseline.exact, { name: 'baseline', reason: m.baseline.exact_note });
    }
    const table = el('div', { class: 'scroll' }, el('table', null, el('thead', null, head1, head2), body));
    const notes = el('p', { class: 'note' },
      'Sampled columns average, over the targets, each target\'s statistics against every other row (the study\'s table; ± is the ' +
      'standard deviation across targets). Exact columns cover every unordered pair of rows once. Rows excluded from both: ' +
      models.map((m) => m.name + ': ' + int(m.padding_rows) + ' padding, ' + int(m.zero_rows) + ' zero-norm').join('; ') + '.');

    // Fraction non-negative: exact bars, sampled mean ± sd, per model and baseline.
    const rows = [];
    for (const m of models) {
      const series = [[m.name, m.name, m.sampled, m.exact]];
      if (m.baseline) series.push(['random N(0,1), control for ' + m.name, 'random N(0,1)', m.baseline.sampled, m.baseline.exact]);
      for (const [label, color, s, x] of series) {
        if (x) rows.push({ label, color, method: 'exact (all pairs)', value: x.fraction_non_negative, lo: x.fraction_non_negative, hi: x.fraction_non_negative });
        if (s) rows.push({ label, color, method: 'sampled (mean ± sd)', value: s.fraction_non_negative,
                           lo: s.fraction_non_negative - s.fraction_non_negative_std, hi: s.fraction_non_negative + s.fraction_non_negative_std });
      }
    }
    const fracSpec = {
      height: bandHeight(new Set(rows.map((r) => r.label)).size * 2, 14),
      data: { values: rows },
      encoding: {
        y: { field: 'label', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } },
        yOffset: { field: 'method', type: 'nominal', sort: ['exact (all pairs)', 'sampled (mean ± sd)'] },
      },
      layer: [
        { mark: { type: 'bar', opacity: 0.85 },
          encoding: { x: { field: 'value', type: 'quantitative', title: 'fraction of pairs with cosine ≥ 0', scale: { domain: [0, 1] } },
                      color: { field: 'color', type: 'nominal', scale: seriesScale(['random N(0,1)']), legend: null },
                      opacity: { field: 'method', type: 'ordinal', sort: ['exact (all pairs)', 'sampled (mean ± sd)'], scale: { domain: ['exact (all pairs)', 'sampled (mean ± sd)'], range: [0.9, 0.45] },
                                 legend: { title: null, orient: 'bottom' } },
                      tooltip: [{ field: 'label', title: 'series' }, { field: 'method' }, { field: 'value', format: '.4f', title: 'fraction ≥ 0' },
                                { field: 'lo', format: '.4f', title: 'low' }, { field: 'hi', format: '.4f', title: 'high' }] } },
        { mark: { type: 'rule', color: '#333' }, transform: [{ filter: "datum.method !== 'exact (all pairs)'" }],
          encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
        { data: { values: [{ x: 0.5 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: null, yOffset: null } },
      ],
    };
    section('table', 'The study\'s table: sampled vs exact, with the random baseline', table, notes,
            figure(chart('fraction', fracSpec),
                   'Fraction of token pairs with non-negative cosine. Solid: exact over all pairs; light: the study\'s sampled estimate ' +
                   '(line: ± one standard deviation across targets). Grey: a random N(0,1) matrix of the same shape (the study\'s control). ' +
                   'Dashed line: 0.5, what random directions give.'));
  })();

  // ---- 3. distribution of pairwise cosines ---------------------------------------------------
  (function distribution() {
    const values = [];
    let lo = Infinity, hi = -Infinity;
    for (const m of models) {
      if (!m.distribution) continue;
      for (const p of m.distribution.points) {
        values.push({ series: m.name, x: p.x, density: p.density, kind: 'model' });
        if (p.density > 0) { lo = Math.min(lo, p.x); hi = Math.max(hi, p.x); }
      }
    }
    if (!values.length) { section('distribution', 'Distribution of pairwise cosines', el('p', { class: 'note', text: 'No exact histogram was computed.' })); return; }
    const extra = [];
    for (const b of data.baseline_distributions || []) {
      const name = 'random N(0,1), d = ' + b.dim;
      extra.push(name);
      for (const p of b.points) {
        values.push({ series: name, x: p.x, density: p.density, kind: 'baseline' });
        if (p.density > 1e-3 * b.peak) { lo = Math.min(lo, p.x); hi = Math.max(hi, p.x); }
      }
    }
    const pad = 0.03 * (hi - lo);
    lo = Math.max(-1, lo - pad); hi = Math.min(1, hi + pad);
    if (lo > -0.05) lo = -0.05;
    // Ticks at round cosines, whatever the range.
    const step = [0.01, 0.02, 0.05, 0.1, 0.2].find((s) => (hi - lo) / s <= 12) || 0.2;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Math.round(t * 1000) / 1000);
    // A few bins can hold far more than the rest (e.g. hundreds of near-identical rows put many
    // pairs at cosine ~1): the y axis stops a little above the third-highest point of each model
    // and the random curves' peaks, and taller points are written at the top instead.
    let ymax = 0;
    for (const m of models) {
      if (!m.distribution) continue;
      const d = m.distribution.points.map((p) => p.density).sort((a, b) => b - a);
      ymax = Math.max(ymax, 1.3 * d[Math.min(2, d.length - 1)]);
    }
    for (const b of data.baseline_distributions || []) ymax = Math.max(ymax, 1.05 * b.peak);
    // One line per label, stacked downwards from the top (labels of several models would overlap).
    const offScale = [];
    for (const m of models) {
      for (const p of (m.distribution ? m.distribution.points : [])) {
        if (p.density > ymax && p.x >= lo && p.x <= hi)
          offScale.push({ series: m.name, x: p.x + m.distribution.bin_width / 2, y: ymax * (0.99 - 0.06 * offScale.length),
                          label: '↑ ' + p.density.toFixed(1) + ' (' + pct(p.density * m.distribution.bin_width) + ' of pairs)' });
      }
    }
    const spec = {
      height: 300,
      layer: [
        { data: { values: [{ a: lo, b: 0 }] }, mark: { type: 'rect', color: '#e45756', opacity: 0.06 },
          encoding: { x: { field: 'a', type: 'quantitative' }, x2: { field: 'b' } } },
        { data: { values }, mark: { type: 'line', strokeWidth: 1.8, interpolate: 'step-after', clip: true },
          transform: [{ filter: "datum.kind === 'model'" }],
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'cosine similarity of a token pair', scale: { domain: [lo, hi], nice: false },
                 axis: { values: ticks } },
            y: { field: 'density', type: 'quantitative', title: 'density (pairs per unit cosine, normalised)',
                 scale: { domain: [0, ymax], nice: false } },
            color: { field: 'series', type: 'nominal', title: null, scale: seriesScale(extra), legend: { orient: 'bottom' } },
            tooltip: [{ field: 'series' }, { field: 'x', format: '.4f', title: 'cosine (bin start)' }, { field: 'density', format: '.3f' }],
          } },
        // The random control's exact density: a smooth curve, dashed.
        { data: { values }, mark: { type: 'line', strokeWidth: 1.6, strokeDash: [5, 3], clip: true },
          transform: [{ filter: "datum.kind === 'baseline'" }],
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'density', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', title: null, scale: seriesScale(extra), legend: { orient: 'bottom' } },
            tooltip: [{ field: 'series' }, { field: 'x', format: '.4f', title: 'cosine' }, { field: 'density', format: '.3f' }],
          } },
        { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#b3261e', strokeWidth: 1.5 },
          encoding: { x: { field: 'x', type: 'quantitative' } } },
        { data: { values: [{ x: 0, t: 'cos = 0' }] }, mark: { type: 'text', color: '#b3261e', align: 'left', dx: 4, dy: 8, baseline: 'top' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 't' } } },
        { data: { values: offScale }, mark: { type: 'text', align: 'right', dx: -4, baseline: 'top', fontSize: 11 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' },
                      color: { field: 'series', type: 'nominal', title: null, scale: seriesScale(extra), legend: { orient: 'bottom' } } } },
      ],
    };
    section('distribution', 'Distribution of pairwise cosines',
            figure(chart('distribution', spec),
                   'Exact distribution of the cosine over all token pairs of each model (from the all-pairs histogram; bins merged ' +
                   'so each curve has about 150 over its central range; points above the axis are written at its top). Shaded: the ' +
                   'negative side; red line: cosine 0. Dashed: the ' +
                   'cosine of two independent random N(0,1) vectors of the same dimension d, density ∝ (1 − t²)^((d − 3)/2).'));
  })();

  // ---- 4. per-token negativity along the id axis ---------------------------------------------
  (function perToken() {
    const withTokens = models.filter((m) => m.tokens);
    if (!withTokens.length) return;
    const s = section('tokens', 'Negative-prone tokens along the id axis');
    s.appendChild(el('p', { class: 'note', text:
      'For every token: the fraction of the other tokens it has a negative cosine with (exact, from the all-pairs pass). Ids are ' +
      'binned so large vocabularies stay fast: the dark bar is the mean over the bin, the light bar its maximum. Shaded bands: runs ' +
      'of consecutive negative-prone tokens (negative to more than half of the others). Hover for the id range and example tokens; ' +
      'drag to pan, scroll to zoom.' }));
    // One chart of binned per-token values `v` ({bin_size, id_end, bins}) with the runs `ranges`.
    function tokenSpec(m, v, ranges, zoomName, title) {
      const bins = v.bins.map((b) => Object.assign({ end: b.last + 1, ids: idRange(b) }, b));
      const bands = ranges.filter((r) => r.first < v.id_end).sort((a, b) => b.count - a.count).slice(0, 8)
        .map((r) => ({ first: r.first, end: Math.min(r.last + 1, v.id_end), ids: idRange(r), label: 'ids ' + idRange(r),
                       count: r.count, text: r.text }));
      // Labels for the largest bands only, at least 12 % of the axis apart so they do not overlap.
      const labelled = [];
      for (const b of bands) {
        if (labelled.length < 4 && labelled.every((l) => Math.abs(l.first - b.first) > 0.12 * v.id_end)) labelled.push(b);
      }
      const color = colorOf(m.name);
      const binTooltip = [{ field: 'ids', title: 'ids' }, { field: 'n', title: 'tokens' },
                          { field: 'mean', format: '.3f', title: 'mean fraction negative' },
                          { field: 'max', format: '.3f', title: 'max fraction negative' },
                          { field: 'mean_cos', format: '.3f', title: 'mean cosine to others' },
                          { field: 'examples', title: v.bin_size > 1 ? 'most negative-prone' : 'token' }];
      return {
        height: 220,
        title,
        layer: [
          { data: { values: bands }, mark: { type: 'rect', color: '#f58518', opacity: 0.16 },
            encoding: { x: { field: 'first', type: 'quantitative' }, x2: { field: 'end' },
                        tooltip: [{ field: 'label', title: 'run' }, { field: 'count', title: 'tokens' }, { field: 'text', title: 'text' }] } },
          { data: { values: bins },
            params: [{ name: zoomName, select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
            mark: { type: 'rect', color, opacity: 0.3 },
            encoding: { x: { field: 'first', type: 'quantitative', title: 'token id', axis: { format: 'd' },
                             scale: { domain: [0, v.id_end], nice: false } },
                        x2: { field: 'end' },
                        y: { field: 'max', type: 'quantitative', title: 'fraction of other tokens negative to it', scale: { domain: [0, 1] } },
                        y2: { datum: 0 },
                        tooltip: binTooltip } },
          { data: { values: bins }, mark: { type: 'rect', color },
            encoding: { x: { field: 'first', type: 'quantitative' }, x2: { field: 'end' },
                        y: { field: 'mean', type: 'quantitative' }, y2: { datum: 0 },
                        tooltip: binTooltip } },
          { data: { values: [{ y: 0.5 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' },
            encoding: { y: { field: 'y', type: 'quantitative' } } },
          { data: { values: labelled }, mark: { type: 'text', align: 'left', dx: 3, dy: 3, baseline: 'top', color: '#a14d00', fontSize: 11 },
            encoding: { x: { field: 'first', type: 'quantitative' }, y: { datum: 1 }, text: { field: 'label' } } },
        ],
      };
    }
    withTokens.forEach((m, index) => {
      const t = m.tokens;
      const ranges = t.ranges || [];
      s.appendChild(figure(chart('tokens-' + index, tokenSpec(m, t, ranges, 'zoom' + index,
        m.name + ' — ' + int(m.used_rows) + ' tokens' + (t.bin_size > 1 ? ', ' + t.bin_size + ' ids per bin' : '')))));
      if (t.head) {
        s.appendChild(figure(chart('tokens-head-' + index, tokenSpec(m, t.head, ranges, 'zoomhead' + index,
          m.name + ' — the first ' + int(t.head.id_end) + ' ids, one bar per token')),
          'Tokenizers put special tokens, byte tokens and single characters at the lowest ids, which the binned axis above ' +
          'squeezes into a bin or two.'));
      }
      if (ranges.length) {
        const top = ranges.slice().sort((a, b) => b.count - a.count).slice(0, 12);
        s.appendChild(el('p', null, int(t.prone_tokens) + ' tokens of ' + m.name + ' are negative to more than half of the other ' +
                         'tokens, in ' + int(t.n_ranges) + ' runs of consecutive ids; the largest:'));
        s.appendChild(rangeList(top));
      } else {
        s.appendChild(el('p', { class: 'note', text: 'No token of ' + m.name + ' is negative to more than half of the others.' }));
      }
    });
  })();

  // ---- 5. token classes ------------------------------------------------------------------------
  (function classes() {
    const rows = [];
    for (const m of models) {
      for (const c of (m.geometry && m.geometry.classes) || []) {
        if (!c.count) continue;
        rows.push({ model: m.name, class: c['class'].replace(/_/g, ' '), count: c.count, fraction_negative: c.fraction_negative,
                    mean_cosine: c.mean_cosine, mean_norm: c.mean_norm });
      }
    }
    if (!rows.length) return;
    const order = [];
    for (const r of rows) if (!order.includes(r['class'])) order.push(r['class']);
    const spec = {
      height: bandHeight(order.length * names.length, models.length > 1 ? 12 : 18),
      data: { values: rows },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'class', type: 'nominal', sort: order, title: null },
        yOffset: { field: 'model', type: 'nominal', sort: names },
        x: { field: 'fraction_negative', type: 'quantitative', title: 'fraction of its pairs that are negative' },
        color: { field: 'model', type: 'nominal', title: null, scale: seriesScale(), legend: models.length > 1 ? { orient: 'bottom' } : null },
        tooltip: [{ field: 'model' }, { field: 'class' }, { field: 'count', format: ',d', title: 'tokens' },
                  { field: 'fraction_negative', format: '.4f', title: 'fraction of pairs negative' },
                  { field: 'mean_cosine', format: '.4f', title: 'mean cosine to all rows' }, { field: 'mean_norm', format: '.3f', title: 'mean norm' }],
      },
    };
    section('classes', 'Token classes: how negative-prone each class is',
            figure(chart('classes', spec),
                   'Tokens grouped by what their text is (special/control, byte tokens, punctuation, digits, whitespace, word starts, ' +
                   'word continuations, CJK, other scripts). Bar: the fraction of the pairs involving a token of the class that have a ' +
                   'negative cosine (exact). This generalises the study\'s observation about ids 0–92 to every class of token.'));
  })();

  // ---- 6. geometry: centring, top components, explained variance -----------------------------
  (function geometry() {
    const withGeo = models.filter((m) => m.geometry);
    if (!withGeo.length) return;
    const s = section('geometry', 'Why: a common direction and a few dominant components');
    const bars = [];
    for (const m of withGeo) {
      const g = m.geometry;
      const add = (step, v) => { if (isNum(v)) bars.push({ model: m.name, step, value: v }); };
      add('as is', g.fraction_non_negative);
      add('centred (mean removed)', g.fraction_non_negative_centered);
      add('all-but-the-top ' + (g.all_but_top_components || '') + ' (mean + top components removed)', g.fraction_non_negative_all_but_top);
    }
    const steps = [];
    for (const b of bars) if (!steps.includes(b.step)) steps.push(b.step);
    const barSpec = {
      height: bandHeight(steps.length * withGeo.length, 16),
      data: { values: bars },
      layer: [
        { mark: 'bar',
          encoding: { y: { field: 'step', type: 'nominal', sort: steps, title: null, axis: { labelLimit: 360 } },
                      yOffset: { field: 'model', type: 'nominal', sort: names },
                      x: { field: 'value', type: 'quantitative', title: 'fraction of pairs with cosine ≥ 0', scale: { domain: [0, 1] } },
                      color: { field: 'model', type: 'nominal', title: null, scale: seriesScale(), legend: withGeo.length > 1 ? { orient: 'bottom' } : null },
                      tooltip: [{ field: 'model' }, { field: 'step', title: 'rows' }, { field: 'value', format: '.4f', title: 'fraction ≥ 0' }] } },
        { data: { values: [{ x: 0.5 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' },
          encoding: { x: { field: 'x', type: 'quantitative' } } },
      ],
    };
    s.appendChild(figure(chart('centering', barSpec),
      'The same sampled measurement before and after removing the mean vector μ, and after also removing the top principal ' +
      'components ("all-but-the-top", Mu & Viswanath 2018). If the positivity is a shared offset, centring brings it to about 0.5 ' +
      '(dashed).'));

    const ev = [];
    for (const m of withGeo) {
      let cum = 0;
      (m.geometry.explained_variance || []).forEach((r, k) => { cum += r; ev.push({ model: m.name, k: k + 1, ratio: r, cumulative: cum }); });
    }
    if (ev.length) {
      const evSpec = {
        height: 240,
        data: { values: ev },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'k', type: 'quantitative', title: 'principal component', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'cumulative', type: 'quantitative', title: 'cumulative explained variance ratio' },
          color: { field: 'model', type: 'nominal', title: null, scale: seriesScale(), legend: withGeo.length > 1 ? { orient: 'bottom' } : null },
          tooltip: [{ field: 'model' }, { field: 'k', title: 'component' }, { field: 'ratio', format: '.4f', title: 'explained variance ratio' },
                    { field: 'cumulative', format: '.4f', title: 'cumulative' }],
        },
      };
      s.appendChild(figure(chart('explained-variance', evSpec),
        'Share of the variance (of the centred rows) carried by the top principal components: a steep start means a few ' +
        'directions dominate (anisotropy).'));
    }
    const head = el('tr', null, ['Model', '‖μ‖ / mean ‖x‖', 'Mean cosine (identity)', 'cos(x, μ) > 0', 'Isotropy I(W)', 'IsoScore',
                                 'Top rogue dimensions (share of mean cosine)'].map((h, i) => el('th', { class: i === 0 || i === 6 ? 'l' : null, text: h })));
    const body = withGeo.map((m) => {
      const g = m.geometry;
      const rogue = (g.rogue_dimensions || []).slice(0, 4).map((r) => r.dim + ': ' + pct(r.share)).join(', ');
      return el('tr', null, el('td', { class: 'l', text: m.name }), el('td', { text: fix(g.mean_norm_ratio, 3) }),
                el('td', { text: fix(g.mean_cosine, 4) }), el('td', { text: g.cos_to_mean ? pct(g.cos_to_mean.fraction_positive) : '–' }),
                el('td', { text: fix(g.isotropy_iw, 4) }), el('td', { text: fix(g.isoscore, 4) + (g.spectrum_method === 'randomized' ? ' ±' + fix(g.isoscore_se, 4) : '') }),
                el('td', { class: 'l', text: rogue || '–' }));
    });
    s.appendChild(el('div', { class: 'scroll' }, el('table', null, el('thead', null, head), el('tbody', null, body))));
  })();

  // ---- 7. a chosen token: its negative ranges ------------------------------------------------
  (function chosenToken() {
    const withToken = models.filter((m) => m.token);
    if (!withToken.length) return;
    const s = section('token', 'Which tokens are negative to the chosen token');
    withToken.forEach((m, index) => {
      const t = m.token;
      s.appendChild(el('h3', null, m.name + ': token ' + t.id + ' ', el('code', { text: t.text }), ' is negative to ' + int(t.negative) +
                       ' of ' + int(t.compared) + ' other tokens (' + pct(t.negative / Math.max(1, t.compared)) + ')'));
      // Along the id axis: one bar per id with a negative cosine (bins of one id), or per bin the
      // share of its tokens that are negative to this one.
      const exactIds = t.bin_size === 1;
      const bins = t.bins.filter((b) => b.mean > 0).map((b) => ({ first: b.first, end: b.last + 1, ids: idRange(b), n: b.n,
                                                                   share: b.mean, negative: Math.round(b.mean * b.n),
                                                                   examples: b.examples }));
      const spec = {
        height: exactIds ? 46 : 110,
        data: { values: bins },
        params: [{ name: 'tokzoom' + index, select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
        mark: { type: 'rect', color: colorOf(m.name) },
        encoding: {
          x: { field: 'first', type: 'quantitative', axis: { format: 'd' }, scale: { domain: [0, t.id_end], nice: false },
               title: exactIds ? 'token id (bars: ids with a negative cosine to it)' : 'token id (' + t.bin_size + ' ids per bin)' },
          x2: { field: 'end' },
          tooltip: [{ field: 'ids', title: 'ids' }, { field: 'negative', title: 'negative to it' }, { field: 'n', title: 'tokens' },
                    { field: 'examples', title: 'tokens negative to it' }],
        },
      };
      if (!exactIds) {
        spec.encoding.y = { field: 'share', type: 'quantitative', scale: { domain: [0, 1] }, title: 'share negative to it' };
        spec.encoding.y2 = { datum: 0 };
      }
      s.appendChild(figure(chart('token-' + index, spec)));
      s.appendChild(rangeList(t.ranges));
      if (t.n_ranges > t.ranges.length)
        s.appendChild(el('p', { class: 'note', text: 'The first ' + t.ranges.length + ' of ' + int(t.n_ranges) + ' runs; `embstat neighbors ' +
                                m.spec + ' ' + t.id + ' --negative` lists them all.' }));
    });
  })();

  // ---- 8. provenance -----------------------------------------------------------------------------
  (function provenance() {
    const dl = el('dl', { class: 'prov' });
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '') dl.append(el('dt', { text: k }), el('dd', null, v)); };
    add('Command', el('code', { text: prov.command }));
    add('Working directory', el('code', { text: prov.cwd }));
    add('embstat', prov.embstat_version);
    add('Generated', prov.generated_utc);
    add('Wall time', isNum(prov.wall_seconds) ? prov.wall_seconds.toFixed(2) + ' s' : undefined);
    add('Seed', String(prov.seed));
    add('Sampled targets', String(prov.samples));
    add('Threads', String(prov.threads));
    add('Charting library', (prov.library || []).map((l) => l.package + ' ' + l.version + ' (' + l.license + ')').join(', '));
    const s = section('provenance', 'Provenance', dl);
    for (const m of models) {
      s.appendChild(el('h3', null, m.name, el('span', { class: 'note', text: '  (' + m.spec + ')' })));
      const t = m.tensor || {};
      const dm = el('dl', { class: 'prov' });
      const addm = (k, v) => { if (v !== undefined && v !== null && v !== '') dm.append(el('dt', { text: k }), el('dd', null, v)); };
      addm('Format', m.format);
      addm('Tensor', t.name ? el('code', { text: t.name }) : undefined);
      addm('Stored as', t.dtype ? t.dtype + ', shape [' + (t.shape || []).join(', ') + '], ' + bytes(t.bytes) + ' at offset ' + int(t.file_offset) + ' of ' + t.file : undefined);
      addm('Tensor checksum', t.xxh64 ? el('code', { text: 'xxh64 ' + t.xxh64 }) : undefined);
      addm('Matrix', int(m.rows) + ' rows × ' + m.dim + (m.tied ? ', tied with the output matrix' : ''));
      addm('Tokenizer', m.tokenizer ? m.tokenizer.kind + ', ' + int(m.tokenizer.size) + ' tokens' : undefined);
      addm('Rows used', int(m.used_rows) + ' (excluded: ' + int(m.padding_rows) + ' padding, ' + int(m.zero_rows) + ' zero-norm)');
      addm('Notes', (m.notes || []).join(' '));
      addm('Time', m.seconds ? Object.entries(m.seconds).map(([k, v]) => k + ' ' + v.toFixed(2) + ' s').join(', ') : undefined);
      s.appendChild(dm);
      const ft = el('table', null, el('thead', null, el('tr', null, el('th', { class: 'l', text: 'File' }), el('th', { text: 'Bytes' }),
                                                          el('th', { class: 'l', text: 'Modified (UTC)' }))),
                    el('tbody', null, (m.files || []).map((f) => el('tr', null, el('td', { class: 'l mono path', text: f.path }),
                                                                    el('td', { text: int(f.bytes) }), el('td', { class: 'l', text: f.mtime_utc })))));
      s.appendChild(el('div', { class: 'scroll' }, ft));
    }
  })();

  // ---- readiness and export ----------------------------------------------------------------------
  function utf8Base64(text) {
    const b = new TextEncoder().encode(text);
    let s = '';
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
    return btoa(s);
  }
  Promise.all(pending).then(async () => {
    for (const c of Object.values(state.charts)) delete c.pending;
    state.readyMs = performance.now();
    state.ready = true;
    document.documentElement.setAttribute('data-embstat-ready', state.errors.length ? 'errors' : 'ok');
    if (!/(^|[#&])export\b/.test(location.hash.slice(1))) return;
    const out = [];
    for (const [name, view] of Object.entries(views)) {
      try {
        const png = await view.toImageURL('png', 2);
        const svg = await view.toSVG();
        out.push({ name, png: png.slice(png.indexOf(',') + 1), svg: utf8Base64(svg) });
      } catch (err) {
        state.errors.push('export ' + name + ': ' + ((err && err.message) || err));
      }
    }
    const pre = document.getElementById('embstat-export');
    pre.textContent = JSON.stringify({ errors: state.errors, charts: out });
    state.exported = true;
    document.documentElement.setAttribute('data-embstat-exported', 'true');
  });
})();
