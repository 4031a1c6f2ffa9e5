// End-to-end check of `embstat report`: writes the report, opens it in headless Chromium (the
// system one, driven by playwright-core; nothing is downloaded), waits for the page's readiness
// flag, asserts that every chart drew data marks and that the console stayed clean, checks
// the report's content, takes a full-page screenshot, and optionally checks the file size and
// the time to ready.
//
// node tests/e2e/report_check.mjs --embstat BIN --out DIR [--name NAME] [--synthetic]
//      [--model PATH]... [--token T] [--max-bytes N] [--max-ready-ms N] [--expect-range A-B]
//      [--png]
//
// --synthetic writes DIR/synthetic.npy first (600 x 32, rows 0-92 planted opposite the common
// direction, so they are negative to most rows) and adds it as a model. Exit status: 0 pass,
// 1 fail, 77 skipped (no Chromium or no playwright-core: CTest's SKIP_RETURN_CODE).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = { models: [], name: 'report' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  if (a === '--embstat') args.embstat = next();
  else if (a === '--out') args.out = next();
  else if (a === '--name') args.name = next();
  else if (a === '--model') args.models.push(next());
  else if (a === '--token') args.token = next();
  else if (a === '--synthetic') args.synthetic = true;
  else if (a === '--max-bytes') args.maxBytes = Number(next());
  else if (a === '--max-ready-ms') args.maxReadyMs = Number(next());
  else if (a === '--expect-range') args.expectRange = next();
  else if (a === '--png') args.png = true;
  else { console.error('unknown argument ' + a); process.exit(2); }
}

const failures = [];
let chartsOnPage = [];
const check = (ok, what) => { if (!ok) failures.push(what); console.log((ok ? 'ok   ' : 'FAIL ') + what); };
const skip = (why) => { console.log('SKIP: ' + why); process.exit(77); };

const chromium = process.env.EMBSTAT_CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser']
  .find((p) => fs.existsSync(p));
if (!chromium) skip('no Chromium (apt-get install chromium, or set EMBSTAT_CHROMIUM)');
let playwright;
try { playwright = require('playwright-core'); } catch { skip('playwright-core not installed (run `npm ci` in the source tree)'); }

fs.mkdirSync(args.out, { recursive: true });

// A float32 .npy, C order: the header is padded with spaces to a multiple of 64 bytes.
function writeNpy(file, rows, cols, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(new Float32Array(values).buffer);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}
if (args.synthetic) {
  // Deterministic LCG noise; a common direction c (coordinate 0); rows 0-92 point against it.
  let s = 12345;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 4294967296 - 0.5; };
  const n = 600, d = 32, v = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) v.push((k === 0 ? (i <= 92 ? -1.0 : 1.0) : 0) + 0.6 * rand());
  const file = path.join(args.out, 'synthetic.npy');
  writeNpy(file, n, d, v);
  args.models.push(file);
}

const html = path.join(args.out, args.name + '.html');
fs.rmSync(html, { force: true });
const cmd = [...args.models, '-o', html, '--samples', '20', '--seed', '7', '--quiet'];
if (args.token) cmd.push('--token', args.token);
const pngDir = path.join(args.out, args.name + '-png');
if (args.png) { fs.rmSync(pngDir, { recursive: true, force: true }); cmd.push('--png', pngDir); }
const run = spawnSync(args.embstat, ['report', ...cmd], { encoding: 'utf8' });
console.log('$ embstat report ' + cmd.join(' '));
process.stdout.write(run.stdout || '');
process.stderr.write(run.stderr || '');
check(run.status === 0, 'embstat report exits 0 (got ' + run.status + ')');
if (run.status !== 0) process.exit(1);
const size = fs.statSync(html).size;
console.log('report size: ' + size + ' bytes');
if (args.maxBytes) check(size <= args.maxBytes, `report is at most ${args.maxBytes} bytes (${size})`);

const browser = await playwright.chromium.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-quic'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Offline: any request other than the report itself fails the test.
  const requests = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://') && url.split('#')[0] === 'file://' + path.resolve(html)) return route.continue();
    requests.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

  const t0 = Date.now();
  await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
  await page.waitForFunction(() => window.embstat && window.embstat.ready === true, null, { timeout: 30000 });
  const readyMs = Date.now() - t0;
  const times = await page.evaluate(() => [window.embstat.startMs, window.embstat.readyMs]);
  console.log(`ready after ${readyMs} ms (page: library loaded at ${Math.round(times[0])} ms, ` +
              `charts drawn at ${Math.round(times[1])} ms after navigation start)`);
  if (args.maxReadyMs) {
    // Opening time: navigation start to every chart drawn, as the page measures it; the best of
    // three loads, so a busy machine (other tests, compilers) does not decide the result.
    const loads = [times[1]];
    for (let i = 0; i < 2; i++) {
      const again = await context.newPage();
      await again.goto('file://' + path.resolve(html), { waitUntil: 'load' });
      await again.waitForFunction(() => window.embstat && window.embstat.ready === true, null, { timeout: 30000 });
      loads.push(await again.evaluate(() => window.embstat.readyMs));
      await again.close();
    }
    const best = Math.round(Math.min(...loads));
    check(best <= args.maxReadyMs, `page ready within ${args.maxReadyMs} ms (best of three: ${best} ms; ` +
          loads.map(Math.round).join(', ') + ')');
  }

  const state = await page.evaluate(() => ({ errors: window.embstat.errors, charts: window.embstat.charts }));
  console.log('chart times (ms from its embed call): ' + Object.entries(state.charts).map(([k, v]) => k + ' ' + v.ms).join(', '));
  const dom = await page.evaluate(() => Array.from(document.querySelectorAll('[data-chart]')).map((el) => ({
    id: el.getAttribute('data-chart'),
    svg: el.querySelectorAll('svg').length,
    marks: el.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > text, g.role-mark > g').length,
  })));
  chartsOnPage = dom.map((c) => c.id);
  check(state.errors.length === 0, 'page reports no errors ' + JSON.stringify(state.errors));
  check(consoleErrors.length === 0, 'console has no errors or warnings ' + JSON.stringify(consoleErrors));
  check(requests.length === 0, 'no request leaves the file ' + JSON.stringify(requests));
  // Charts every report has, and those its data calls for (classes need a vocabulary).
  const data = await page.evaluate(() => JSON.parse(document.getElementById('embstat-data').textContent));
  const expected = ['fraction', 'distribution', 'centering', 'explained-variance'];
  data.models.forEach((m, i) => expected.push('tokens-' + i));
  if (data.models.some((m) => m.geometry.classes.length)) expected.push('classes');
  if (args.token) expected.push('token-0');
  for (const id of expected) check(dom.some((c) => c.id === id), `chart ${id} is on the page`);
  for (const c of dom) {
    check(c.svg > 0 && c.marks > 0, `chart ${c.id} holds an svg with drawn marks (svg ${c.svg}, mark elements ${c.marks})`);
    check(state.charts[c.id] && state.charts[c.id].marks > 0, `chart ${c.id}: vega scenegraph has data marks (${state.charts[c.id] && state.charts[c.id].marks})`);
  }

  // Content: the tables and provenance a reader relies on.
  const text = await page.evaluate(() => document.body.innerText);
  for (const s of ['Sampled: the study', 'Exact: all pairs', 'random N(0,1)', 'Command', 'Wall time', 'Seed', 'xxh64'])
    check(text.includes(s), `page shows "${s}"`);
  if (args.expectRange) {
    const [a, b] = args.expectRange.split('-').map(Number);
    const ranges = data.models.flatMap((m) => (m.tokens ? m.tokens.ranges : []));
    check(ranges.some((r) => r.first === a && r.last === b), `negative-prone run ${a}–${b} found ` +
          JSON.stringify(ranges.slice(0, 5).map((r) => [r.first, r.last])));
    check(text.includes(`${a}–${b}`), `page names the run ${a}–${b}`);
  }
  if (args.token) check(/is negative to [\d,]+ of [\d,]+ other tokens/.test(text), 'page states the chosen token\'s negatives');

  const shot = path.join(args.out, args.name + '.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 1280, `page fits the 1280 px window (scroll width ${width})`);

  // A hover shows the id range and example tokens.
  const bar = await page.$('#chart-tokens-0 g.role-mark path');
  if (bar) {
    await bar.hover({ force: true });
    const tip = await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 3000 }).catch(() => null);
    const tipText = tip ? await tip.innerText() : '';
    check(/ids/.test(tipText) && /fraction negative/.test(tipText) && /(most negative-prone|token)\b/.test(tipText),
          'hover on a token bar shows the id range, its negativity and example tokens: ' + JSON.stringify(tipText));
  }

  await context.close();
} finally {
  await browser.close();
}

if (args.png) {
  const files = fs.existsSync(pngDir) ? fs.readdirSync(pngDir) : [];
  const pngs = files.filter((f) => f.endsWith('.png'));
  check(chartsOnPage.length > 0 && chartsOnPage.every((id) => pngs.includes(id + '.png')),
        `--png wrote every chart of the page as PNG (${pngs.join(', ')})`);
  for (const f of pngs) {
    const head = fs.readFileSync(path.join(pngDir, f)).subarray(0, 8);
    check(head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
          fs.statSync(path.join(pngDir, f)).size > 2000, `${f} is a non-trivial PNG`);
  }
  const svgs = files.filter((f) => f.endsWith('.svg'));
  check(svgs.length === pngs.length && svgs.every((f) => fs.readFileSync(path.join(pngDir, f), 'utf8').includes('<svg')),
        'every chart also has an SVG');
}

if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
