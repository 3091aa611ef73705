// Return for correction, end to end: an officer submits a visit; a
// supervisor (here the admin) returns it with a reason from the review page;
// the officer's phone, offline and then online, shows the reason; the
// officer corrects the visit and resubmits it; the supervisor reviews it.
// And a return made while the officer edits offline converges on the
// officer's phone, a team-mate's phone and the server, the edit kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, seedOfficer, shot } from './harness.mjs';
import { fieldKit } from './field-kit.mjs';

const env = serverAndBrowser();

const { phone, enrol, syncNow, fillField } = fieldKit(() => env);

async function adminPage() {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(`${env.srv.url}/admin/`);
  await page.fill('#username', 'admin');
  await page.fill('#password', env.srv.adminPassword);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#nav a[data-section=review]');
  return { context, page };
}

test('a returned visit shows its reason on the phone, is corrected, resubmitted and reviewed', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc4001', displayName: 'PC 4001 Okafor' });
  const P = await phone();
  await enrol(P.page, a.code, 'Okafor phone');
  await P.page.click('[data-kind=nail_bar]');
  await P.page.waitForSelector('.visit-screen');
  const visitId = await P.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(P.page, 'premises_name', 'Glamour Nails');
  await P.page.click('[data-test=submit]');
  await P.page.waitForSelector('.visit-screen .badge.submitted');
  await syncNow(P.page);

  // The supervisor returns it with a reason.
  const S = await adminPage();
  await S.page.click('#nav a[data-section=review]');
  const item = S.page.locator(`#review-list li[data-visit="${visitId}"]`);
  await item.waitFor();
  await item.locator('button.return').click();
  await item.getByText('Say what must be corrected').waitFor();
  await item.locator('input.return-reason').fill('Add the postcode of the premises.');
  await item.locator('button.return').click();
  await item.getByText('Returned for correction.').waitFor();

  // Offline, the phone still shows it as submitted; online, as returned with the reason.
  await P.context.setOffline(true);
  await P.page.click('#sync-button');
  await P.page.waitForTimeout(300);
  assert.equal(await P.page.$('[data-test=returned]'), null);
  await P.context.setOffline(false);
  await syncNow(P.page);
  await P.page.waitForSelector('[data-test=returned]');
  assert.match(await P.page.textContent('[data-test=returned]'), /Add the postcode of the premises/);
  assert.equal((await P.page.textContent('[data-test=submit]')).trim(), 'Resubmit visit');
  await P.page.evaluate(() => scrollTo(0, 0));
  await shot(P.page, 'field-returned-360x740');

  // Corrected and resubmitted.
  await fillField(P.page, 'postcode', 'OX1 2AB');
  await P.page.click('[data-test=submit]');
  await P.page.waitForSelector('.visit-screen .badge.submitted');
  await syncNow(P.page);

  // Back in the review list, marked resubmitted; reviewed.
  await S.page.click('#nav a[data-section=conflicts]');
  await S.page.click('#nav a[data-section=review]');
  const again = S.page.locator(`#review-list li[data-visit="${visitId}"]`);
  await again.waitFor();
  await again.getByText('resubmitted').waitFor();
  await shot(S.page, 'admin-desktop-review-resubmitted');
  await again.locator('button.review').click();
  await again.getByText('Reviewed.').waitFor();
  const onServer = await env.srv.api('GET', `/api/v1/visits/${visitId}?reason=e2e%20check`, undefined, a.adminToken);
  assert.equal(onServer.body.status, 'reviewed');
  assert.equal(onServer.body.fields.postcode.value.text, 'OX1 2AB');
  await syncNow(P.page);
  await P.page.waitForSelector('.visit-screen .badge.reviewed');
  await P.context.close();
  await S.context.close();
});

test('a return made while the officer edits offline, and a second phone: all three converge', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc4101', displayName: 'PC 4101 Reyes', team: 'Crew 41' });
  const b = await seedOfficer(env.srv, { username: 'pc4102', displayName: 'PC 4102 Sato', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const A = await phone();
  await enrol(A.page, a.code, 'Reyes phone');
  await A.page.click('[data-kind=hotel]');
  await A.page.waitForSelector('.visit-screen');
  const visitId = await A.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(A.page, 'premises_name', 'Riverside Inn');
  await A.page.click('[data-test=submit]');
  await A.page.waitForSelector('.visit-screen .badge.submitted');
  await syncNow(A.page);
  const B = await phone();
  await enrol(B.page, b.code, 'Sato phone');

  // Offline, A adds the postcode; meanwhile the supervisor returns the visit.
  await A.context.setOffline(true);
  await fillField(A.page, 'postcode', 'RG4 5BB');
  const r = await env.srv.api('POST', `/api/v1/visits/${visitId}/return`, { reason: 'Which floor were the rooms on?' }, a.adminToken);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await A.context.setOffline(false);
  await syncNow(A.page);
  await syncNow(B.page);
  await syncNow(A.page);
  for (const { page } of [A, B]) {
    if (!(await page.$(`.visit-screen[data-visit="${visitId}"]`))) {
      await page.click('[data-test=visit-card]');
    }
    await page.waitForSelector(`.visit-screen[data-visit="${visitId}"] [data-test=returned]`);
    assert.match(await page.textContent('[data-test=returned]'), /Which floor/);
    assert.equal(await page.inputValue('[name=postcode]'), 'RG4 5BB');
  }
  const onServer = await env.srv.api('GET', `/api/v1/visits/${visitId}?reason=e2e%20check`, undefined, a.adminToken);
  assert.equal(onServer.body.status, 'returned');
  assert.equal(onServer.body.fields.postcode.value.text, 'RG4 5BB');
  await A.context.close();
  await B.context.close();
});
