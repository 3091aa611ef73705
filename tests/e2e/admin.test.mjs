// The admin pages in Chromium, on a database filled by `aidant demo`: sign in
// through the form, see operations, issue an enrolment code (QR), review a
// visit, resolve a conflict, see the summary charts, export a CSV and find it
// in the list with its SHA-256; at desktop (1280×800) and phone (360×740)
// widths, with no horizontal page scroll. Screenshots go to
// target/e2e-screenshots/admin-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { serverAndBrowser, shot } from './harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/London' };
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, locale: 'en-GB', timezoneId: 'Europe/London' };
let token;
let operation;
const env = serverAndBrowser({ demo: true }, async ({ srv }) => {
  token = await srv.login();
  const ops = await srv.api('GET', '/api/v1/operations', undefined, token);
  assert.equal(ops.status, 200);
  assert.equal(ops.body.length, 1, 'the demo made one operation');
  operation = ops.body[0].id;
});

async function open(size, { acceptDownloads = false } = {}) {
  const context = await env.browser.newContext({ ...size, acceptDownloads });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('dialog', (d) => d.accept());
  return { context, page, problems };
}

async function signIn(page, password = env.srv.adminPassword) {
  await page.goto(`${env.srv.url}/admin/`);
  await page.fill('#username', 'admin');
  await page.fill('#password', password);
  await page.click('#signin-form button[type=submit]');
}

async function section(page, name) {
  await page.click(`#nav a[data-section=${name}]`);
  await page.waitForSelector(`#section-${name}`);
}

/** The page never scrolls sideways. */
async function noSideScroll(page, where) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= width, `${where}: page is ${scroll}px wide in a ${width}px window`);
}

test('a wrong password shows the server message', async () => {
  const { context, page } = await open(PHONE);
  await signIn(page, 'not the password at all');
  await page.waitForSelector('#signin-error:not(:empty)');
  assert.match(await page.textContent('#signin-error'), /wrong username or password/);
  await context.close();
});

test('admin pages at desktop width', async () => {
  const { context, page, problems } = await open(DESKTOP, { acceptDownloads: true });
  await signIn(page);

  // The summary with charts, straight after signing in.
  await page.waitForSelector('#summary-tiles');
  await page.waitForSelector('figure.chart svg rect.bar');
  const bars = await page.locator('figure.chart svg rect.bar').count();
  assert.ok(bars > 20, `${bars} bars`);
  const visits = Number(await page.locator('#summary-tiles .tile .n').first().textContent());
  assert.ok(visits > 150, `${visits} visits in the summary`);
  assert.doesNotMatch(await page.textContent('#summary-out'), /null|undefined|\[object/);
  await shot(page, 'admin-desktop-summary', { fullPage: true });

  // Operations.
  await section(page, 'operations');
  assert.match(await page.textContent('#operations-list'), /Operation Aidant/);

  // An enrolment code with its QR code.
  await section(page, 'people');
  const officer = page.locator('#users-list li[data-user^="pc"]').first();
  await officer.locator('button.issue-code').click();
  await officer.locator('img.qr-img').waitFor();
  assert.match(await officer.locator('.enrol-code').textContent(), /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  const qrWidth = await officer.locator('img.qr-img').evaluate((img) => img.complete && img.naturalWidth);
  assert.ok(qrWidth >= 200, `QR image ${qrWidth}px`);
  await officer.scrollIntoViewIfNeeded();
  await shot(page, 'admin-desktop-enrolment-code');

  // Review a submitted visit: its details only with a reason, and then who
  // has read it.
  await section(page, 'review');
  // The list shows the case: who recorded it, potential victims, children first.
  await page.locator('#review-list [data-test=recorded-by]').first().waitFor();
  assert.ok(await page.locator('#review-list [data-test=victims]').count() > 0, 'no potential victims shown in the review list');
  if (await page.locator('#review-list [data-test=child]').count() > 0) {
    assert.equal(await page.locator('#review-list li').first().locator('[data-test=child]').count(), 1, 'a visit with a child is not first');
  }
  const item = page.locator('#review-list li').first();
  const visit = await item.getAttribute('data-visit');
  await item.getByRole('button', { name: 'Show details' }).click();
  assert.match(await item.locator('.detail-error').textContent(), /reason/);
  await item.getByLabel('Reason for reading').fill('Checking before sign-off');
  await item.getByRole('button', { name: 'Show details' }).click();
  await item.locator('[data-test=who-read] summary').click();
  assert.match(await item.locator('[data-test=who-read]').textContent(), /Checking before sign-off/);
  // The case in full: each person with an age group, the indicators, notes.
  const detail = item.locator('[data-test=case]');
  const shownPersons = await detail.locator('[data-test=persons] li').count();
  assert.ok(shownPersons > 0, 'no person in the details');
  assert.ok(['adult', 'child', 'unknown'].includes(await detail.locator('[data-test=persons] li').first().getAttribute('data-age')));
  assert.match(await detail.textContent(), /Indicators/);
  await shot(page, 'admin-desktop-review-case');
  await item.locator('button.review').click();
  await item.getByText('Reviewed.').waitFor();
  const reviewed = await env.srv.api('GET', `/api/v1/visits/${visit}?reason=e2e%20check`, undefined, token);
  assert.equal(reviewed.body.status, 'reviewed');
  await shot(page, 'admin-desktop-review');

  // Resolve a conflict: pick the value that is not shown now.
  await section(page, 'conflicts');
  const c = page.locator('#conflict-list li').first();
  const conflicted = await c.getAttribute('data-visit');
  await c.locator('button.show-conflicts').click();
  const box = c.locator('fieldset.conflict').first();
  await box.waitFor();
  const chosen = (await box.locator('.choice .val').nth(1).textContent()).trim();
  await box.locator('input[type=radio]').nth(1).check();
  await box.locator('input.resolve-reason').fill('Officer confirmed on the phone');
  await shot(page, 'admin-desktop-conflict');
  await box.locator('button.resolve').click();
  await c.getByText('No conflict left on this visit.').waitFor();
  const after = await env.srv.api('GET', `/api/v1/visits/${conflicted}?reason=e2e%20check`, undefined, token);
  assert.equal(after.body.conflicts, 0);
  const shown = Object.values(after.body.fields).map((f) => JSON.stringify(f.value));
  assert.ok(shown.some((v) => v.includes(JSON.stringify(chosen).slice(1, -1))), `${chosen} not among ${shown}`);

  // Export a CSV: the file downloads, and the list shows it with its hash.
  await section(page, 'exports');
  await page.selectOption('#exp-format', 'csv');
  await page.fill('#exp-reason', 'Weekly return to the regional coordinator');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#exp-go')]);
  assert.match(download.suggestedFilename(), /\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split(/\r?\n/);
  assert.ok(lines.length > 150, `${lines.length} lines in the CSV`);
  assert.doesNotMatch(csv, /"code":/, 'an error body instead of a CSV');
  await page.waitForSelector('#exp-done:has-text("Saved")');
  await page.waitForFunction(() => /^[0-9a-f]{64}$/.test(document.querySelector('#exports-list .sha')?.textContent.trim() || ''));
  await shot(page, 'admin-desktop-exports');

  // Names asked for with the visits CSV: the persons table is chosen, and
  // the file holds the names (admins only).
  await page.check('#exp-identifying');
  assert.equal(await page.inputValue('#exp-format'), 'csv-persons');
  assert.match(await page.textContent('#exp-table-note'), /persons table/);
  const [named] = await Promise.all([page.waitForEvent('download'), page.click('#exp-go')]);
  const people = csvRows(readFileSync(await named.path(), 'utf8').replace(/^\uFEFF/, ''));
  const nameAt = people[0].indexOf('name');
  assert.ok(nameAt >= 0, `no name column in ${people[0]}`);
  const withName = people.slice(1).filter((row) => (row[nameAt] || '').trim());
  assert.ok(withName.length > 0, 'no person has a name in an identifying persons CSV');
  await page.uncheck('#exp-identifying');
  await page.selectOption('#exp-format', 'csv');

  // An export without a reason is refused before it is asked for.
  await page.fill('#exp-reason', '');
  await page.click('#exp-go');
  assert.match(await page.textContent('#section-exports .error'), /reason/);

  await section(page, 'quarantine');
  await page.waitForSelector('#section-quarantine .ok, #quarantine-list');
  await noSideScroll(page, 'desktop');
  assert.deepEqual(problems, []);
  await context.close();
});

test('admin pages at phone width have no sideways scroll', async () => {
  const { context, page, problems } = await open(PHONE);
  await signIn(page);
  await page.waitForSelector('figure.chart svg rect.bar');
  await noSideScroll(page, 'summary');
  await shot(page, 'admin-phone-summary');
  await shot(page, 'admin-phone-summary-full', { fullPage: true });
  for (const name of ['review', 'conflicts', 'exports', 'operations', 'people', 'quarantine']) {
    await section(page, name);
    await page.waitForTimeout(300);
    await page.waitForLoadState('networkidle');
    await noSideScroll(page, name);
  }
  // The enrolment code and QR at phone width.
  await section(page, 'people');
  const officer = page.locator('#users-list li[data-user^="pc"]').nth(1);
  await officer.locator('button.issue-code').click();
  await officer.locator('img.qr-img').waitFor();
  await officer.scrollIntoViewIfNeeded();
  await noSideScroll(page, 'people with a QR code');
  await shot(page, 'admin-phone-enrolment-code');
  await section(page, 'conflicts');
  const c = page.locator('#conflict-list li').first();
  await c.locator('button.show-conflicts').click();
  await c.locator('fieldset.conflict').first().waitFor();
  await noSideScroll(page, 'conflict');
  await shot(page, 'admin-phone-conflict');
  await section(page, 'exports');
  await page.waitForSelector('#exports-list li.export');
  await noSideScroll(page, 'exports');
  await shot(page, 'admin-phone-exports', { fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the admin pages live under /admin/ for the same operation', async () => {
  const r = await fetch(`${env.srv.url}/admin/`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /admin\.js/);
  const ops = await env.srv.api('GET', '/api/v1/operations', undefined, token);
  const { starts_on: from, ends_on: to } = ops.body[0];
  const s = await env.srv.api('GET', `/api/v1/operations/${operation}/summary?from=${from}&to=${to}`, undefined, token);
  assert.equal(s.status, 200);
  assert.ok(s.body.total.visits > 150, JSON.stringify(s.body.total));
});

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks). */
function csvRows(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}
