// Jeugdpad's web app: how fast, and how heavy — the figures of the web app issue's point 9.
//
// Run by `cargo xtask web-bench`, which seeds a synthetic municipality where one team (noord)
// has about 2,000 open trajectories, starts the release binary, and passes:
//   JEUGDPAD_URL, JEUGDPAD_TOKEN_FILE (as for run.mjs), JEUGDPAD_BENCH_ROUNDS (default 40)
//
// It prints, never asserts:
//   - the caseload of team noord: the server's answer (HTML complete) and the first paint in
//     Chromium (first-contentful-paint from navigation start), p50 and p95;
//   - the trajectory page of as many different trajectories: the same;
//   - the transfer of a first load (fresh browser context, empty cache) of each page: the sum
//     of every response's decoded size (uncompressed), and what it is made of.

import { chromium } from 'playwright-core';
import fs from 'node:fs';

const BASE = process.env.JEUGDPAD_URL;
const TOKENS = JSON.parse(fs.readFileSync(process.env.JEUGDPAD_TOKEN_FILE, 'utf8'));
const ROUNDS = Number(process.env.JEUGDPAD_BENCH_ROUNDS || 40);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function summary(name, values) {
  return `${name}: p50 ${quantile(values, 0.5).toFixed(0)} ms, p95 ${quantile(values, 0.95).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms (n=${values.length})`;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });

async function signedIn(user) {
  const context = await browser.newContext({ locale: 'nl-NL', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE + '/aanmelden');
  await page.fill('#veld-token', TOKENS[user]);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  return { context, page };
}

/** One navigation: the HTML's answer (request start → response end) and the first contentful paint. */
async function timed(page, path) {
  await page.goto(BASE + path, { waitUntil: 'load' });
  return page.evaluate(() => new Promise((resolve) => {
    const nav = performance.getEntriesByType('navigation')[0];
    const paint = () => performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint');
    const done = () => resolve({ answer: nav.responseEnd - nav.requestStart, paint: paint().startTime, status: nav.responseStatus });
    if (paint()) done(); else new PerformanceObserver(() => paint() && done()).observe({ type: 'paint', buffered: true });
  }));
}

/** Every response of a first load — a fresh context with only the session cookie, so an empty
 * cache: (path, decoded bytes). */
async function firstLoad(user, path) {
  const signed = await signedIn(user);
  const cookies = await signed.context.cookies();
  await signed.context.close();
  const context = await browser.newContext({ locale: 'nl-NL', viewport: { width: 1280, height: 900 } });
  await context.addCookies(cookies);
  const page = await context.newPage();
  const sizes = [];
  page.on('response', async (response) => {
    try { sizes.push([new URL(response.url()).pathname, (await response.body()).length]); } catch { /* a redirect has no body */ }
  });
  await page.goto(BASE + path, { waitUntil: 'networkidle' });
  await page.waitForTimeout(300);
  await context.close();
  return sizes;
}

const consultant = await signedIn('consultant-noord');
// Warm up once (the first request after start compiles nothing, but fills sled's cache).
const first = await timed(consultant.page, '/caseload');
const total = await consultant.page.textContent('main p strong');
console.log(`caseload of team noord: ${total} open trajectories (first answer ${first.answer.toFixed(0)} ms)`);

const caseAnswer = [];
const casePaint = [];
const sorts = ['aandacht', 'dagen', 'termijn', 'fase', 'jeugdige'];
for (let i = 0; i < ROUNDS; i++) {
  const path = `/caseload?sorteer=${sorts[i % sorts.length]}&pagina=${1 + (i % 7)}`;
  const t = await timed(consultant.page, path);
  if (t.status !== 200) throw new Error(`${path}: ${t.status}`);
  caseAnswer.push(t.answer);
  casePaint.push(t.paint);
}

// Trajectory pages: as many different trajectories as rounds, from the caseload's pages.
const ids = [];
for (let page = 1; ids.length < ROUNDS && page < 40; page++) {
  await consultant.page.goto(`${BASE}/caseload?sorteer=dagen&pagina=${page}`);
  ids.push(...await consultant.page.$$eval('main tbody tr td:first-child a', (as) => as.map((a) => a.getAttribute('href'))));
}
const trajAnswer = [];
const trajPaint = [];
for (const href of ids.slice(0, ROUNDS)) {
  const t = await timed(consultant.page, href);
  if (t.status !== 200) throw new Error(`${href}: ${t.status}`);
  trajAnswer.push(t.answer);
  trajPaint.push(t.paint);
}

console.log('');
console.log(summary('caseload (50 rows of the team\'s open trajectories), server answer', caseAnswer));
console.log(summary('caseload, first contentful paint', casePaint));
console.log(summary('trajectory page, server answer', trajAnswer));
console.log(summary('trajectory page, first contentful paint', trajPaint));

console.log('');
for (const [user, path] of [['consultant-noord', '/caseload'], ['consultant-noord', ids[0]], ['lead-noord', '/wachttijden'], ['analyst', '/normalisatie']]) {
  const sizes = await firstLoad(user, path);
  const sum = sizes.reduce((a, [, n]) => a + n, 0);
  const parts = sizes.map(([url, n]) => `${url.replace(/^\/traject\/[0-9a-f-]+/, '/traject/…')} ${(n / 1024).toFixed(1)} KB`).join(', ');
  console.log(`first load of ${path.replace(/^\/traject\/[0-9a-f-]+/, '/traject/…')}: ${(sum / 1024).toFixed(1)} KB uncompressed (${parts})`);
}
await browser.close();
