// A new phone's first sync from snapshots (each visit's merged state, not
// its history): it shows what its team-mate recorded, then both phones edit
// the same visit offline and converge with each other and the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, seedOfficer } from './harness.mjs';
import { fieldKit } from './field-kit.mjs';

const env = serverAndBrowser();

const { phone, enrol, unlock, syncNow, converge, fillField, addNote, serverVisit } = fieldKit(() => env);

test('a phone started from snapshots and a phone holding the history edit one visit offline and converge', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc2001', displayName: 'PC 2001 Khan', team: 'Crew 2' });
  const b = await seedOfficer(env.srv, { username: 'pc2002', displayName: 'PC 2002 Moss', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  // A records a visit (its phone holds every op of it) and syncs.
  const A = await phone();
  await enrol(A.page, a.code, 'Khan phone');
  await A.page.click('[data-kind=car_wash]');
  await A.page.waitForSelector('.visit-screen');
  const visitId = await A.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(A.page, 'premises_name', 'Sparkle Hand Car Wash');
  await fillField(A.page, 'postcode', 'OX4 1AA');
  await fillField(A.page, 'premises_name', 'Sparkle Hand Car Wash Ltd');
  await addNote(A.page, 'Five workers, one with no gloves.');
  await syncNow(A.page);

  // B's phone is enrolled after: its first sync takes snapshots, then pulls
  // from the cursor they came with (never from 0).
  const B = await phone();
  const asked = [];
  B.page.on('request', (r) => { if (r.url().includes('/api/v1/sync/')) asked.push(new URL(r.url())); });
  await enrol(B.page, b.code, 'Moss phone');
  const snapshot = asked.filter((u) => u.pathname === '/api/v1/sync/snapshot');
  const pulls = asked.filter((u) => u.pathname === '/api/v1/sync/pull');
  assert.equal(snapshot.length, 1, asked.map(String).join('\n'));
  assert.ok(pulls.length >= 1 && pulls.every((u) => Number(u.searchParams.get('after')) > 0), pulls.map(String).join('\n'));
  await B.page.waitForSelector('[data-test=visit-card]');
  await B.page.click('[data-test=visit-card]');
  await B.page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  assert.equal(await B.page.inputValue('[name=premises_name]'), 'Sparkle Hand Car Wash Ltd');
  assert.match(await B.page.textContent('.notes'), /no gloves/);

  // Both edit the premises name offline: a conflict both keep, and a note.
  await A.context.setOffline(true);
  await B.context.setOffline(true);
  await fillField(A.page, 'premises_name', 'Sparkle (A)');
  await fillField(B.page, 'premises_name', 'Sparkle (B)');
  await addNote(B.page, 'Manager arrived during the visit.');
  await converge(A, B);
  for (const { page } of [A, B]) {
    await page.waitForSelector('[data-test=conflict]');
    const box = await page.textContent('[data-test=conflict]');
    assert.match(box, /Sparkle \(A\)/);
    assert.match(box, /Sparkle \(B\)/);
    assert.match(await page.textContent('.notes'), /Manager arrived/);
    assert.match(await page.textContent('.notes'), /no gloves/);
  }
  const shown = (page) => page.inputValue('[name=premises_name]');
  assert.equal(await shown(A.page), await shown(B.page));
  const onServer = await serverVisit(a.adminToken, visitId);
  assert.equal(onServer.fields.premises_name.value.text, await shown(A.page));
  assert.equal(onServer.fields.premises_name.conflict.length, 1);
  assert.equal(onServer.fields.postcode.value.text, 'OX4 1AA');

  // Reloaded, B (whose store began as snapshots) still holds it all.
  await B.page.reload();
  await unlock(B.page);
  // The app reopens where the officer was (this visit), or at home.
  await B.page.waitForSelector(`.visit-screen[data-visit="${visitId}"] [name=premises_name], [data-test=visit-card]`);
  if (!(await B.page.$(`.visit-screen[data-visit="${visitId}"]`))) await B.page.click('[data-test=visit-card]');
  await B.page.waitForSelector(`.visit-screen[data-visit="${visitId}"] [name=premises_name]`);
  assert.equal(await shown(B.page), await shown(A.page));
  assert.match(await B.page.textContent('.notes'), /no gloves/);
  await A.context.close();
  await B.context.close();
});
