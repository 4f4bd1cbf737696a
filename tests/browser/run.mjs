// Jeugdpad's web app, end to end in Debian's headless Chromium.
//
// Run by `cargo xtask browser` (and so by `cargo xtask ci`), which installs Chromium and the
// pinned npm packages, starts `jeugdpad serve` on a fresh data directory with two teams and a
// user (and token) per role, and passes:
//   JEUGDPAD_URL          http://127.0.0.1:PORT
//   JEUGDPAD_TOKEN_FILE   a JSON file: { "consultant-noord": "jpt_…", … }
//   JEUGDPAD_SCREENSHOTS  the directory for one PNG per page visited
//
// Every test:
//   - runs in fresh browser contexts (one per person), whose every request is intercepted: a
//     request to any other origin is refused and fails the test;
//   - runs axe-core on every page it visits: no violation of impact "serious" or "critical";
//   - writes a screenshot of every page it visits.
// Times are never asserted here (see `cargo xtask web-bench`).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BASE = process.env.JEUGDPAD_URL;
const TOKENS = JSON.parse(fs.readFileSync(process.env.JEUGDPAD_TOKEN_FILE, 'utf8'));
const SHOTS = process.env.JEUGDPAD_SCREENSHOTS || 'target/screenshots';
const ORIGIN = new URL(BASE).origin;
const ONLY = process.env.JEUGDPAD_BROWSER_ONLY;
fs.mkdirSync(SHOTS, { recursive: true });

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--lang=nl-NL',
];

// ---------------------------------------------------------------------------------------------
// Harness

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

function equal(actual, expected, message) {
  if (actual !== expected) throw new Failure(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

let shot = 0;

/** One test's browser: people (contexts) and everything they did. */
class Run {
  constructor(browser, name) {
    this.browser = browser;
    this.name = name;
    this.external = [];
    this.urls = [];
    this.contexts = [];
    this.axeRuns = 0;
  }

  /** A fresh context (a person at their own screen), signed in with `user`'s token. */
  async person(user, { signIn = true } = {}) {
    const context = await this.browser.newContext({ locale: 'nl-NL', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      this.urls.push(url);
      if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === ORIGIN) return route.continue();
      this.external.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('websocket', (ws) => {
      this.urls.push(ws.url());
      const origin = new URL(ws.url().replace(/^ws/, 'http')).origin;
      if (origin !== ORIGIN) this.external.push(ws.url());
    });
    page.on('pageerror', (error) => { this.pageErrors = (this.pageErrors || []).concat(String(error)); });
    this.contexts.push(context);
    const person = new Person(this, context, page, user);
    if (signIn) await person.signIn();
    return person;
  }

  async close() {
    for (const context of this.contexts) await context.close();
  }
}

class Person {
  constructor(run, context, page, user) {
    this.run = run;
    this.context = context;
    this.page = page;
    this.user = user;
  }

  /** Screenshot, axe and the Dutch check of the page as it is now. */
  async look(name) {
    shot += 1;
    const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    await axe(this.page, name);
    await dutchOnly(this.page, name);
    this.run.axeRuns += 1;
  }

  async visit(pathname, name) {
    const response = await this.page.goto(BASE + pathname);
    if (name) await this.look(name);
    return response;
  }

  async signIn(token = TOKENS[this.user]) {
    await this.page.goto(BASE + '/aanmelden');
    await this.page.fill('#veld-token', token);
    await Promise.all([this.page.waitForNavigation(), this.page.click('main button[type=submit]')]);
  }

  /** Submits the form the page shows (its main submit button, or `button`) and waits for the
   * answer. */
  async submit(button = 'main form.jp-form button[type=submit]') {
    const [response] = await Promise.all([
      this.page.waitForNavigation(),
      this.page.click(button),
    ]);
    return response;
  }

  async text(selector = 'main') {
    return (await this.page.textContent(selector)) || '';
  }
}

async function axe(page, name) {
  // Evaluated through the DevTools protocol: the pages' CSP forbids inline scripts, rightly.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(serious.length === 0, `axe on ${name}: ${JSON.stringify(serious, null, 1)}`);
}

/** Every word on the page is Dutch: English words that have no Dutch look-alike must not appear
 * in its text (GraphiQL's own editor, a developer tool in English, and `code` are left out). */
const ENGLISH = /\b(the|and|please|must|cannot|would|which|should|there is|not found|sign in|error)\b/i;
async function dutchOnly(page, name) {
  const text = await page.evaluate(() => {
    const clone = document.body.cloneNode(true);
    clone.querySelectorAll('#graphiql, code, script, style').forEach((el) => el.remove());
    return clone.innerText + ' ' + document.title + ' ' +
      [...document.querySelectorAll('[aria-label], [title]')].map((el) => el.getAttribute('aria-label') || '').join(' ');
  });
  const match = ENGLISH.exec(text);
  check(!match, `English on ${name}: "${match && text.slice(Math.max(0, match.index - 60), match.index + 60)}"`);
}

const tests = [];
function test(name, body) { tests.push({ name, body }); }

// ---------------------------------------------------------------------------------------------
// Dates: the server's "today" (Europe/Amsterdam), and days before it.

let TODAY;
function daysAgo(n) {
  const d = new Date(TODAY + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}
function dutch(iso) { const [y, m, d] = iso.split('-'); return `${d}-${m}-${y}`; }

// ---------------------------------------------------------------------------------------------
// The steps of a case, through the forms

/** Opens the step `label` from the trajectory page by its button, fills `fill`, submits. */
async function step(person, trajectory, label, fill, { expectError = false, landsOn = null } = {}) {
  await person.visit(`/traject/${trajectory}`);
  await Promise.all([person.page.waitForNavigation(), person.page.click(`#traject-inhoud .jp-button-group a:text-is("${label}")`)]);
  // Every kind of step form is looked at (screenshot, axe) the first time it is opened.
  const form = new URL(person.page.url()).pathname.split('/').pop();
  if (!formsSeen.has(form)) {
    formsSeen.add(form);
    await person.look(`stap-${form}`);
  }
  await fill(person.page);
  const response = await person.submit();
  if (landsOn) {
    check(response.url().includes(landsOn), `${label}: expected ${landsOn}, got ${response.url()}`);
  } else if (!expectError) {
    check(response.url().includes(`/traject/${trajectory}`) && !response.url().includes('/stap/'),
      `${label}: expected the trajectory page after recording, got ${response.url()} (${response.status()}): ${(await person.text()).slice(0, 400)}`);
  }
  return response;
}

async function timelineLabels(person, trajectory) {
  await person.visit(`/traject/${trajectory}`);
  return person.page.$$eval('.jp-timeline .jp-event-title', (els) => els.map((e) => e.textContent.trim()));
}

async function openTrajectory(person, { subject, bsn, date, source = 'school', concerns = ['parenting'] }) {
  await person.visit('/melding');
  if (subject) await person.page.fill('#veld-pseudoniem', subject);
  if (bsn) await person.page.fill('#veld-bsn', bsn);
  await person.page.fill('#veld-datum', dutch(date));
  await person.page.selectOption('#veld-bron', source);
  for (const concern of concerns) await person.page.check(`input[name=zorgen][value=${concern}]`);
  const response = await person.submit();
  const match = /\/traject\/([0-9a-f-]{36})/.exec(response.url());
  check(match, `Nieuwe melding did not lead to a trajectory: ${response.url()} ${(await person.text()).slice(0, 300)}`);
  return match[1];
}

/** The access-log inquiry's submit button. */
const INQUIRY = 'form.jp-filters[action="/beheer/toegangslog"] button[type=submit]';

// Shared between tests, in order.
const shared = {};
const formsSeen = new Set();

// ---------------------------------------------------------------------------------------------
// The tests

test('sign-in, session cookie and sign-out', async (run) => {
  const person = await run.person('consultant-noord', { signIn: false });
  await person.visit('/caseload');
  check(person.page.url().includes('/aanmelden'), 'an anonymous visitor is sent to the sign-in page');
  await person.look('aanmelden');
  await person.page.fill('#veld-token', 'jpt_0000_onzin');
  const refused = await person.submit();
  equal(refused.status(), 401, 'a wrong token');
  const error = await person.text('#veld-token-fout');
  check(/token kennen we niet/i.test(error), `the refusal is a Dutch sentence beside the field: ${error}`);
  await person.look('aanmelden-fout');
  await person.signIn();
  check(person.page.url().endsWith('/caseload'), `a consultant starts on the caseload: ${person.page.url()}`);
  const cookies = await person.context.cookies();
  const session = cookies.find((c) => c.name === 'jeugdpad_sessie');
  check(session && session.httpOnly && session.sameSite === 'Strict', `session cookie HttpOnly and SameSite=Strict: ${JSON.stringify(session)}`);
  equal(await person.page.evaluate(() => window.localStorage.length), 0, 'nothing in localStorage');
  // A form without the CSRF token is refused.
  const forged = await person.page.evaluate(async () => (await fetch('/afmelden', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '_csrf=nep' })).status);
  equal(forged, 403, 'a sign-out without the CSRF token');
  await Promise.all([person.page.waitForNavigation(), person.page.click('header button:text-is("Afmelden")')]);
  check((await person.text()).includes('U bent afgemeld'), 'signed out');
  await person.visit('/caseload');
  check(person.page.url().includes('/aanmelden'), 'after sign-out the caseload needs a new sign-in');
  const missing = await person.visit('/bestaat-niet', 'niet-gevonden');
  equal(missing.status(), 404, 'a page that is not there');
});

test('a consultant records a whole case and sees every step on the timeline; the team lead sees the wait', async (run) => {
  const consultant = await run.person('consultant-noord');
  await consultant.visit('/caseload', 'caseload-leeg');
  await consultant.visit('/melding', 'nieuwe-melding');
  const id = await openTrajectory(consultant, { subject: 'sk-e2e-0001', date: daysAgo(70), concerns: ['parenting', 'school_attendance'] });
  shared.caseId = id;
  await consultant.look('traject-na-melding');
  check((await consultant.text()).includes('Vastgelegd: Signaal ontvangen'), 'the new trajectory confirms the signal');

  // One whole step with the keyboard only: Tab to the button, Enter, Tab through the form, Enter.
  await consultant.visit(`/traject/${id}`);
  const button = consultant.page.locator('#traject-inhoud a:text-is("Consulent toewijzen")');
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await consultant.page.keyboard.press('Tab');
    reached = await button.evaluate((el) => el === document.activeElement);
  }
  check(reached, 'the step button is reachable with Tab');
  await Promise.all([consultant.page.waitForNavigation(), consultant.page.keyboard.press('Enter')]);
  await consultant.look('stap-consulent-toewijzen');
  let onSubmit = false;
  for (let i = 0; i < 20 && !onSubmit; i++) {
    await consultant.page.keyboard.press('Tab');
    onSubmit = await consultant.page.evaluate(() => document.activeElement && document.activeElement.matches('form.jp-form button[type=submit]'));
  }
  check(onSubmit, 'the submit button is reachable with Tab');
  await Promise.all([consultant.page.waitForNavigation(), consultant.page.keyboard.press('Enter')]);
  check(consultant.page.url().includes(`/traject/${id}`) && (await consultant.text()).includes('Vastgelegd: Consulent toegewezen'), 'recorded by keyboard');

  await step(consultant, id, 'Onderzoek afronden', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(60)));
    await p.check('input[name=conclusie][value=light_help]');
  });
  await step(consultant, id, 'Hulp starten', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(59)));
    await p.selectOption('#veld-hulpvorm', 'parenting_support');
    check(await p.isHidden('#pleegzorg'), 'foster-care fields are hidden for other help');
    equal(await p.inputValue('#veld-episode'), 'hulp-1', 'the suggested episode name');
  });
  await step(consultant, id, 'Hulp aanvragen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(58)));
    await p.selectOption('#veld-hulpvorm', 'specialist_ambulant');
  });

  // The team lead sees the open wait on the waiting list: 58 days against the 56-day norm.
  const lead = await run.person('lead-noord');
  await lead.visit('/wachtlijst', 'wachtlijst');
  const section = await lead.text('#maat-request_to_decision');
  check(section.includes('1 lopend') && section.includes('1 overschreden'), `the waiting list counts the wait and its breach: ${section}`);
  const row = await lead.page.textContent('section:has(#maat-request_to_decision) tbody tr');
  check(row.includes('sk-e2e-0001') && row.includes('58') && row.includes('overschreden') && row.includes('Specialistische ambulante hulp') && row.includes('demo') === false,
    `the row names the youth, 58 days and the breach in words: ${row}`);
  check(row.includes('consultant-noord'), `the row names the consultant: ${row}`);

  // A step recorded by mistake, then retracted; a date corrected.
  await step(consultant, id, 'PGB toekennen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(57)));
    await p.fill('#veld-bedrag', '1.250,00');
    await p.fill('#veld-productcategorie', '40');
  });
  let pgb = await consultant.page.$eval('.jp-timeline li:has(.jp-event-title:text-matches("Pgb toegekend"))', (li) => li.id.replace('gebeurtenis-', ''));
  await consultant.visit(`/traject/${id}/stap/intrekken?gebeurtenis=${pgb}`, 'stap-intrekken');
  await consultant.page.fill('#veld-reden', 'Verkeerd dossier: deze pgb hoort bij een ander traject.');
  await consultant.submit();
  const assessment = await consultant.page.$eval('.jp-timeline li:has(.jp-event-title:text-matches("Onderzoek afgerond"))', (li) => li.id.replace('gebeurtenis-', ''));
  await consultant.visit(`/traject/${id}/stap/corrigeren?gebeurtenis=${assessment}`, 'stap-corrigeren');
  await consultant.page.fill('#veld-nieuwe_datum', dutch(daysAgo(61)));
  await consultant.page.fill('#veld-reden', 'Het keukentafelgesprek was een dag eerder.');
  await consultant.submit();

  await step(consultant, id, 'Hulp beëindigen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(50)));
    await p.check('input[name=resultaat][value=partly_met]');
  });
  await step(consultant, id, 'Beschikking afgeven', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(20)));
    await p.selectOption('#veld-hulpvorm', 'specialist_ambulant');
    await p.fill('#veld-geldig_vanaf', dutch(daysAgo(20)));
  });
  await step(consultant, id, 'Hulp starten', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(18)));
    await p.selectOption('#veld-hulpvorm', 'specialist_ambulant');
    equal(await p.inputValue('#veld-episode'), 'hulp-2', 'the next suggested episode name');
  });
  await step(consultant, id, 'Hulp beëindigen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(6)));
    await p.selectOption('#veld-episode', 'hulp-2');
    await p.check('input[name=resultaat][value=goals_met]');
  });
  await step(consultant, id, 'Hulp starten', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(5)));
    await p.selectOption('#veld-hulpvorm', 'buurtgezin_aftercare');
  });
  await step(consultant, id, 'Hulp beëindigen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(1)));
    await p.check('input[name=resultaat][value=goals_met]');
  });
  await step(consultant, id, 'Traject afsluiten', async (p) => {
    await p.fill('#veld-datum', dutch(TODAY));
    await p.check('input[name=reden_afsluiten][value=goals_met]');
  });

  const labels = await timelineLabels(consultant, id);
  await consultant.look('traject-afgesloten');
  for (const expected of ['Signaal ontvangen', 'Consulent toegewezen', 'Onderzoek afgerond', 'Hulp gestart', 'Hulp aangevraagd',
    'Pgb toegekend', 'Hulp beëindigd', 'Beschikking afgegeven', 'Traject afgesloten']) {
    check(labels.some((l) => l.startsWith(expected)), `the timeline shows ${expected}: ${labels.join(' | ')}`);
  }
  equal(labels.filter((l) => l.startsWith('Hulp gestart')).length, 3, 'three help starts on the timeline');
  check(labels[0].startsWith('Traject afgesloten'), `newest first: ${labels[0]}`);
  const page = await consultant.text();
  check(/Gecorrigeerd op .* door consultant-noord: datum was /.test(page), 'the correction says what it was');
  check(page.includes('Ingetrokken op') && page.includes('Verkeerd dossier'), 'the retraction shows its reason');
  check(await consultant.page.$('.jp-event--retracted') !== null, 'the retracted step is struck through');
  const summary = await consultant.text('.jp-summary');
  check(summary.includes('Afgesloten') && /Opschalingen\s*1/.test(summary) && /Afschalingen\s*1/.test(summary),
    `escalation to specialist care and step-down to Buurtgezin aftercare: ${summary}`);
  const steps = await consultant.text('#stappen-titel + *');
  check(!steps.includes('Hulp starten'), 'a closed trajectory offers no new steps');
  await consultant.visit(`/traject/${id}?volgorde=oud`);
  const oldest = await consultant.page.$$eval('.jp-timeline .jp-event-title', (els) => els.map((e) => e.textContent.trim()));
  check(oldest[0].startsWith('Signaal ontvangen'), `oldest first: ${oldest[0]}`);

  // …and the team lead sees the closed wait in the report: request 58 days ago, decision 20 days ago.
  await lead.visit('/wachttijden', 'wachttijden');
  const figures = await lead.page.textContent('main > .jp-table-wrap table tbody tr:has(th:text-is("Aanvraag → beschikking"))');
  check(/38 dagen/.test(figures), `the report counts the 38-day wait: ${figures}`);
  check((await lead.page.$$('figure svg[role=img]')).length >= 8, 'a chart per measure');
});

test('the analyst sees the closure in the normalisation figures and downloads the summaries', async (run) => {
  const analyst = await run.person('analyst');
  check(analyst.page.url().endsWith('/normalisatie'), 'an analyst starts on Normalisatie');
  await analyst.look('normalisatie');
  const cells = (await analyst.page.locator('main .jp-table-wrap').first().locator('tbody tr').first()
    .locator('th, td').allTextContents()).map((c) => c.trim());
  // The cohort closed this year: the one case — escalated once, never out of home, not resolved
  // lightly (its highest level was specialist care).
  equal(cells[0], 'Totaal', 'the overall row');
  equal(cells[1], '1', 'one trajectory in the cohort');
  equal(cells[2], '0,0%', 'resolved lightly');
  equal(cells[3], '100,0%', 'escalated');
  equal(cells[4], '0,0%', 'out of home');
  const byTeam = await analyst.visit('/normalisatie?per=team', 'normalisatie-per-team');
  equal(byTeam.status(), 200, 'grouped by team');
  check((await analyst.text()).includes('noord'), 'a row for team noord');
  const [download] = await Promise.all([
    analyst.page.waitForEvent('download'),
    analyst.page.click('a:text-is("Samenvattingen als CSV")'),
  ]);
  const file = await download.path();
  const csv = fs.readFileSync(file, 'utf8').trim().split('\n');
  check(csv[0].startsWith('trajectory_id'), `the CSV has the export's header: ${csv[0].slice(0, 80)}`);
  check(csv.some((line) => line.includes('sk-e2e-0001')), 'the closed case is a row');
  const [parquet] = await Promise.all([
    analyst.page.waitForEvent('download'),
    analyst.page.click('a:text-is("Samenvattingen als Parquet")'),
  ]);
  const bytes = fs.readFileSync(await parquet.path());
  equal(bytes.subarray(0, 4).toString(), 'PAR1', 'a Parquet file');
  // An analyst never sees one child's file.
  const refused = await analyst.visit(`/traject/${shared.caseId}`, 'analist-geen-dossier');
  equal(refused.status(), 403, 'an analyst opening a trajectory');
});

test('a team lead hands a trajectory over; a consultant of another team is refused, and the refusal is logged', async (run) => {
  const consultant = await run.person('consultant-noord');
  const id = await openTrajectory(consultant, { subject: 'sk-e2e-0002', date: daysAgo(10) });
  const lead = await run.person('lead-noord');
  await lead.visit(`/traject/${id}`, 'traject-teamleider');
  const buttons = await lead.text('#traject-inhoud .jp-panel');
  check(buttons.includes('Overdragen aan ander team') && !buttons.includes('Onderzoek afronden'), `a team lead only transfers: ${buttons}`);
  await step(lead, id, 'Overdragen aan ander team', async (p) => {
    await p.selectOption('#veld-team', 'zuid');
  }, { landsOn: '/caseload?overgedragen=zuid' });
  check((await lead.text()).includes('overgedragen aan team zuid'), 'the transfer is confirmed');
  const other = await run.person('consultant-zuid');
  // Consultant of zuid now owns it; noord's consultant is refused.
  const refused = await consultant.visit(`/traject/${id}`, 'geweigerd');
  equal(refused.status(), 403, 'the old team is refused');
  check((await consultant.text()).includes('U hebt geen toegang'), 'a refusal page in Dutch');
  const original = await other.visit(`/traject/${shared.caseId}`, 'geweigerd-ander-team');
  equal(original.status(), 403, "a consultant of another team opening noord's case");
  const admin = await run.person('admin');
  await admin.visit('/beheer/toegangslog');
  await admin.page.fill('#veld-traject', shared.caseId);
  await admin.submit(INQUIRY);
  await admin.look('toegangslog-traject');
  const rows = await admin.page.$$eval('main tbody tr', (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, ' ')));
  check(rows.some((r) => r.includes('geweigerd') && r.includes('consultant-zuid') && r.includes('ander team')),
    `the refusal is in the access log: ${rows.slice(0, 5).join(' || ')}`);
  check(rows.some((r) => r.includes('Dossier ingezien') && r.includes('consultant-noord')), 'the reads are logged');
});

test('a stale form gets the reload message and writes nothing; the open page updates live', async (run) => {
  const first = await run.person('consultant-noord');
  const id = await openTrajectory(first, { subject: 'sk-e2e-0003', date: daysAgo(5) });
  // A second screen of a colleague on the trajectory page, listening.
  const second = await run.person('consultant-noord');
  await second.visit(`/traject/${id}`);
  await second.page.waitForSelector('[data-live-status="verbonden"]', { timeout: 10000 });
  // The first opens a form (version 1) …
  await first.visit(`/traject/${id}/stap/onderzoek-afronden`);
  await first.page.waitForSelector('[data-live-status="verbonden"]', { timeout: 10000 });
  await first.page.check('input[name=conclusie][value=no_help_needed]');
  // … the colleague records a step in between (a third screen) …
  const third = await run.person('consultant-noord');
  await step(third, id, 'Hulp aanvragen', async (p) => {
    await p.selectOption('#veld-hulpvorm', 'mediation');
  });
  // … the open trajectory page shows it live, without a reload …
  await second.page.waitForSelector('.jp-timeline .jp-event-title:text-matches("Hulp aangevraagd")', { timeout: 10000 });
  check((await second.text('#live-melding')).includes('nieuwe stap'), 'the live notice says so');
  await second.look('traject-live-bijgewerkt');
  // … the stale form warns before it is sent …
  await first.page.waitForSelector('#live-melding:not([hidden])', { timeout: 10000 });
  await first.look('formulier-verouderd');
  // … and sending it anyway records nothing.
  const before = (await timelineLabels(third, id)).length;
  const response = await first.submit();
  equal(response.status(), 409, 'a stale form');
  const text = await first.text();
  check(text.includes('intussen gewijzigd') && text.includes('Vernieuw de pagina'), `the reload message: ${text.slice(0, 400)}`);
  await first.look('formulier-conflict');
  const again = await first.submit();
  equal(again.status(), 409, 'sent again, the stale form is still refused');
  equal((await timelineLabels(third, id)).length, before, 'nothing was written');
});

test('a rule the domain refuses shows its Dutch sentence beside the field and writes nothing', async (run) => {
  const consultant = await run.person('consultant-noord');
  const id = await openTrajectory(consultant, { subject: 'sk-e2e-0004', date: daysAgo(30) });
  await step(consultant, id, 'Hulp starten', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(10)));
    await p.selectOption('#veld-hulpvorm', 'mediation');
  });
  const before = (await timelineLabels(consultant, id)).length;
  const response = await step(consultant, id, 'Hulp beëindigen', async (p) => {
    await p.fill('#veld-datum', dutch(daysAgo(20)));
    await p.check('input[name=resultaat][value=goals_met]');
  }, { expectError: true });
  equal(response.status(), 422, 'a refused step');
  const error = await consultant.text('#veld-datum-fout');
  check(error.includes(`hulpepisode hulp-1 zou op ${dutch(daysAgo(20))} eindigen, vóór de start op ${dutch(daysAgo(10))}`),
    `the Dutch rule beside the date: ${error}`);
  equal(await consultant.page.getAttribute('#veld-datum', 'aria-invalid'), 'true', 'the field is marked invalid');
  check((await consultant.page.getAttribute('#veld-datum', 'aria-describedby')).includes('veld-datum-fout'), 'the error is tied to the field');
  await consultant.look('regel-geweigerd');
  // A foster-care start without its details: the sentence beside the foster fields.
  const foster = await step(consultant, id, 'Hulp starten', async (p) => {
    await p.selectOption('#veld-hulpvorm', 'foster_care');
    check(await p.isVisible('#pleegzorg'), 'the foster-care fields appear for foster care');
  }, { expectError: true });
  equal(foster.status(), 422, 'foster care without details');
  check((await consultant.text('#veld-pleegzorg_soort-fout')).includes('pleegzorg vraagt om de soort'), 'the foster rule in Dutch');
  equal((await timelineLabels(consultant, id)).length, before, 'nothing was written');
});

test('a BSN is checked in the page and never appears in a URL or on a page after the look-up', async (run) => {
  const consultant = await run.person('consultant-noord');
  const BSN = '111222333'; // passes the elfproef (synthetic)
  const id = await openTrajectory(consultant, { bsn: BSN, date: daysAgo(3) });
  check(!(await consultant.page.content()).includes(BSN), 'the new trajectory page does not show the BSN');
  await consultant.visit('/caseload');
  // A mistyped BSN is stopped in the page: no request is sent.
  await consultant.page.fill('#veld-bsn', '111222334');
  const sent = run.urls.length;
  await consultant.page.click('form[action="/caseload/bsn"] button');
  await consultant.page.waitForSelector('#veld-bsn-fout-js');
  check((await consultant.text('#veld-bsn-fout-js')).includes('elfproef'), 'the elfproef in the page');
  equal(run.urls.slice(sent).filter((u) => u.includes('/caseload/bsn')).length, 0, 'no request for a BSN that fails the elfproef');
  await consultant.look('bsn-elfproef');
  await consultant.page.fill('#veld-bsn', BSN);
  await Promise.all([consultant.page.waitForNavigation(), consultant.page.click('form[action="/caseload/bsn"] button')]);
  check(consultant.page.url().endsWith(`/traject/${id}`), `the look-up leads to the trajectory: ${consultant.page.url()}`);
  check(!(await consultant.page.content()).includes(BSN), 'no BSN on the page after the look-up');
  check(!run.urls.some((u) => u.includes(BSN)), 'no BSN in any URL');
  const server = await consultant.page.evaluate(async () => (await fetch('/caseload')).text());
  check(!server.includes(BSN), 'no BSN on the caseload either');
  await consultant.look('bsn-gevonden');
});

test('the caseload searches, sorts and pages', async (run) => {
  const consultant = await run.person('consultant-noord');
  await consultant.visit('/caseload?zoek=e2e-0003&sorteer=jeugdige', 'caseload-zoeken');
  const rows = await consultant.page.$$eval('main tbody tr', (trs) => trs.map((tr) => tr.textContent));
  equal(rows.length, 1, 'one trajectory matches');
  check(rows[0].includes('sk-e2e-0003'), 'the one found');
  await consultant.visit('/caseload?sorteer=jeugdige');
  const keys = await consultant.page.$$eval('main tbody tr td:first-child a', (as) => as.map((a) => a.textContent.trim()));
  const sorted = [...keys].sort();
  equal(JSON.stringify(keys), JSON.stringify(sorted), 'sorted by pseudonym');
  equal(await consultant.page.getAttribute('th[aria-sort]', 'aria-sort'), 'ascending', 'the sorted column says so');
});

test('the admin manages teams, users and tokens; a token is shown once', async (run) => {
  const admin = await run.person('admin');
  check(admin.page.url().endsWith('/beheer'), 'an admin starts on Teams');
  await admin.look('beheer-teams');
  await admin.page.fill('#veld-code', 'west');
  await admin.page.fill('#veld-naam', 'Wijkteam West');
  await admin.submit();
  check((await admin.text()).includes('Wijkteam West'), 'the team is added');
  await admin.page.fill('#veld-code', 'west');
  await admin.page.fill('#veld-naam', 'Nog een West');
  const twice = await admin.submit();
  equal(twice.status(), 422, 'a team added twice');
  check((await admin.text('#veld-code-fout')).includes("eam 'west' bestaat al"), `the refusal in Dutch beside the code: ${await admin.text('#veld-code-fout')}`);
  await admin.look('beheer-team-bestaat');
  await admin.visit('/beheer/gebruikers', 'beheer-gebruikers');
  await admin.page.fill('#veld-gebruiker', 'e2e-nieuw');
  await admin.page.fill('#veld-naam', 'E. Tweede');
  await admin.page.check('input[name=rol][value=CONSULTANT]');
  await admin.page.selectOption('#veld-team', 'west');
  await admin.submit();
  check((await admin.text()).includes('E. Tweede'), 'the user is added');
  await admin.visit('/beheer/tokens');
  await admin.page.selectOption('#veld-gebruiker', 'e2e-nieuw');
  await admin.page.fill('#veld-label', 'browser-test');
  const created = await admin.submit();
  equal(created.status(), 201, 'a token is made');
  const token = (await admin.text('code.jp-token')).trim();
  check(token.startsWith('jpt_'), 'the token is shown');
  await admin.look('beheer-token-aangemaakt');
  // The new user signs in with it …
  const fresh = await run.person('e2e-nieuw', { signIn: false });
  await fresh.signIn(token);
  check(fresh.page.url().endsWith('/caseload'), 'the new consultant signs in');
  // … the token list never shows it again; revoking it ends the session at the next request.
  await admin.visit('/beheer/tokens', 'beheer-tokens');
  check(!(await admin.page.content()).includes(token), 'the token is never shown again');
  await Promise.all([admin.page.waitForNavigation(), admin.page.click('tr:has-text("browser-test") form button')]);
  check((await admin.text()).includes('ingetrokken'), 'revoked');
  await fresh.visit('/caseload');
  check(fresh.page.url().includes('/aanmelden'), 'a revoked token ends the session');
  // The NEN 7513 inquiry by youth: pseudonym.
  await admin.visit('/beheer/toegangslog', 'toegangslog');
  await admin.page.fill('#veld-pseudoniem', 'sk-e2e-0001');
  await admin.submit(INQUIRY);
  const rows = await admin.page.$$eval('main tbody tr', (trs) => trs.map((tr) => tr.textContent));
  check(rows.length > 0 && rows.every((r) => r.includes('sk-e2e-0001')), `the youth's accesses: ${rows.length}`);
  await admin.look('toegangslog-jeugdige');
});

test('GraphiQL at /graphiql loads from the server itself and answers a query', async (run) => {
  const developer = await run.person('analyst', { signIn: false });
  await developer.visit('/graphiql');
  await developer.page.waitForSelector('#graphiql-token-veld');
  equal(await developer.page.isHidden('#graphiql'), true, 'no editor (and no schema request) before a token is set');
  check(!run.urls.some((u) => u.endsWith('/graphql')), 'the schema is not fetched without a token');
  await developer.look('graphiql-zonder-token');
  await developer.page.fill('#graphiql-token-veld', TOKENS.analyst);
  await developer.page.click('#graphiql-token button[type=submit]');
  await developer.page.waitForSelector('.graphiql-execute-button', { timeout: 20000 });
  await developer.page.waitForFunction(() => !document.querySelector('.graphiql-spinner'), null, { timeout: 20000 });
  await developer.page.click('.graphiql-execute-button');
  await developer.page.waitForFunction((today) => (document.querySelector('.result-window')?.textContent || '').includes(today), TODAY, { timeout: 20000 });
  equal(await developer.page.evaluate(() => window.localStorage.length), 0, 'GraphiQL keeps nothing in localStorage');
  check(await developer.page.evaluate(() => window.sessionStorage.getItem('jeugdpad-graphiql-token') !== null), 'the token is kept for the tab');
  await developer.look('graphiql');
});

// ---------------------------------------------------------------------------------------------

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });
TODAY = (await (await fetch(BASE + '/health')).json()).today;
let failed = 0;
let ran = 0;
let axeRuns = 0;
for (const { name, body } of tests) {
  if (ONLY && !name.includes(ONLY)) continue;
  ran += 1;
  const run = new Run(browser, name);
  const started = Date.now();
  try {
    await body(run);
    check(run.external.length === 0, `requests left the server's origin: ${run.external.join(', ')}`);
    check(!run.pageErrors, `script errors: ${run.pageErrors}`);
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s, axe on ${run.axeRuns} pages)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL  ${name}\n      ${error instanceof Failure ? error.message : error.stack}`);
  } finally {
    axeRuns += run.axeRuns;
    await run.close();
  }
}
await browser.close();
console.log(`${ran - failed} of ${ran} browser tests passed; axe ran on ${axeRuns} pages; screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
