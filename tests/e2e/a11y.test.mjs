// Accessibility of every field and admin screen, in Chromium: axe-core
// finds no serious or critical violation; each field screen opens at its
// top and Back returns where the officer came from; tap targets are at
// least 44 px; at 200% text the header takes at most a fifth of the
// screen; the sync button's name says how many changes are unsynced.
// The axe results per screen are printed (for the issue note).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { serverAndBrowser, seedOfficer } from './harness.mjs';
import { fieldKit } from './field-kit.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const env = serverAndBrowser({ demo: true });
const report = [];

after(() => console.log(['axe-core results (violations by impact):', ...report].join('\n')));

const { phone, enrol, fillField } = fieldKit(() => env);

/** Runs axe on the page; records the counts; returns serious and critical violations. */
async function axe(page, screen) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const by = {};
  for (const v of result.violations) by[v.impact] = (by[v.impact] || 0) + 1;
  report.push(`  ${screen.padEnd(28)} ${JSON.stringify(by)}${result.violations.length ? `  [${result.violations.map((v) => `${v.id}:${v.impact}`).join(', ')}]` : ''}`);
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** Visible controls smaller than 44 px in height or width. */
async function smallTargets(page) {
  return page.evaluate(() => [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, [role=button], summary')]
    .filter((e) => {
      const r = e.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') return false;
      // A checkbox or radio counts with its label, which is the target.
      const label = e.closest('label');
      const box = label ? label.getBoundingClientRect() : r;
      return box.height < 44 || box.width < 44;
    })
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.name ? `[name=${e.name}]` : ''} "${(e.textContent || e.value || '').trim().slice(0, 30)}" ${Math.round(e.getBoundingClientRect().width)}×${Math.round(e.getBoundingClientRect().height)}`));
}

test('field screens: no serious axe violation, open at the top, Back goes back, big targets, readable at 200%', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc3001', displayName: 'PC 3001 Ahmed' });
  // axe is injected as a script: the test's context lets it past the CSP.
  const { context, page } = await phone({ bypassCSP: true });
  const problems = [];
  await page.goto(`${env.srv.url}/#enrol=${seed.code}`);
  await page.waitForSelector('#enrol');
  problems.push(...await axe(page, 'field: enrol'));
  await enrol(page, seed.code, 'A11y phone');
  problems.push(...await axe(page, 'field: home'));
  const small = { home: await smallTargets(page) };

  // A visit with a person; the screens open at their top.
  await page.click('[data-kind=hotel]');
  await page.waitForSelector('.visit-screen');
  await fillField(page, 'premises_name', 'Kings Hotel');
  const visitId = await page.getAttribute('.visit-screen', 'data-visit');
  problems.push(...await axe(page, 'field: visit'));
  // A text at its limit says so where the officer types.
  await page.fill('[name=premises_name]', 'K'.repeat(600));
  const hint = page.locator('[name=premises_name] ~ [data-test=limit]');
  assert.match(await hint.textContent(), /Limit reached: 500 characters/);
  assert.equal((await page.inputValue('[name=premises_name]')).length, 500);
  await fillField(page, 'premises_name', 'Kings Hotel Ltd');
  assert.equal(await hint.textContent(), '');
  small.visit = await smallTargets(page);
  await page.evaluate(() => scrollTo(0, document.body.scrollHeight));
  await page.click('text=Add person');
  await page.waitForSelector('.person-screen');
  assert.equal(await page.evaluate(() => scrollY), 0, 'the person form opened scrolled down');
  problems.push(...await axe(page, 'field: person'));
  small.person = await smallTargets(page);
  // Done on the person goes back to the visit, and Back then goes home:
  // never back into the person's form.
  await page.click('.person-screen a:has-text("Done")');
  await page.waitForSelector('.visit-screen');
  await page.goBack();
  await page.waitForSelector('[data-kind=hotel]');
  assert.equal(await page.$('.person-screen'), null);
  // The sync button says what is unsynced.
  const name = await page.getAttribute('#sync-button', 'aria-label') || await page.textContent('#sync-button');
  const unsynced = Number(await page.evaluate(() => document.body.dataset.unsynced || 0));
  if (unsynced > 0) assert.match(name, new RegExp(`${unsynced}`), `sync button "${name}" hides ${unsynced} unsynced`);

  await page.evaluate(() => { location.hash = '#/summary'; });
  await page.waitForSelector('.summary-screen, [data-test=summary]');
  problems.push(...await axe(page, 'field: day summary'));
  await page.evaluate(() => { location.hash = '#/settings'; });
  await page.waitForSelector('.settings-screen, [data-test=settings]');
  problems.push(...await axe(page, 'field: settings'));
  small.settings = await smallTargets(page);

  // At 200% text the header covers at most a fifth of the screen while the
  // officer scrolls a long form.
  await page.evaluate((id) => { location.hash = `#/visit/${id}`; }, visitId);
  await page.waitForSelector('.visit-screen');
  await page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
  await page.waitForTimeout(100);
  await page.evaluate(() => scrollTo(0, 1500));
  await page.waitForTimeout(100);
  const share = await page.evaluate(() => {
    const r = document.querySelector('header').getBoundingClientRect();
    return Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0)) / innerHeight;
  });
  assert.ok(share <= 0.2, `the header covers ${(share * 100).toFixed(0)}% of the screen at 200% text`);
  await page.evaluate(() => { document.documentElement.style.fontSize = ''; location.hash = ''; });

  // Locked: the unlock screen.
  await page.evaluate(async () => (await import('/session.js')).lock());
  await page.waitForSelector('#unlock');
  problems.push(...await axe(page, 'field: unlock'));
  small.unlock = await smallTargets(page);

  assert.deepEqual(problems, []);
  for (const [screen, list] of Object.entries(small)) assert.deepEqual(list, [], `${screen}: tap targets under 44 px`);
  await context.close();
});

test('admin screens: no serious axe violation', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/London', bypassCSP: true });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  const problems = [];
  await page.goto(`${env.srv.url}/admin/`);
  await page.waitForSelector('#username');
  problems.push(...await axe(page, 'admin: sign in'));
  await page.fill('#username', 'admin');
  await page.fill('#password', env.srv.adminPassword);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('figure.chart svg rect.bar', { state: 'attached' });
  problems.push(...await axe(page, 'admin: summary'));
  for (const name of ['review', 'conflicts', 'exports', 'operations', 'people', 'quarantine']) {
    await page.click(`#nav a[data-section=${name}]`);
    await page.waitForSelector(`#section-${name}`);
    await page.waitForLoadState('networkidle');
    problems.push(...await axe(page, `admin: ${name}`));
  }
  assert.deepEqual(problems, []);
  // On a supervisor's phone the section tabs are full-size tap targets.
  await page.setViewportSize({ width: 360, height: 740 });
  const tabs = await page.$$eval('#nav a', (as) => as.map((a) => [a.textContent.trim(), Math.round(a.getBoundingClientRect().height)]));
  assert.ok(tabs.length >= 6, JSON.stringify(tabs));
  assert.deepEqual(tabs.filter(([, h]) => h < 44), [], 'admin tabs under 44 px at phone width');
  await context.close();
});
