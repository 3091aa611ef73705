// The field app in Chromium at phone size: enrol (setting a PIN), record
// offline, reload offline (and unlock), sync; two officers edit one visit
// offline and converge with the conflict shown; a phone revoked as lost wipes
// itself. The lock, the encryption at rest, wrong PINs, revocation choices and
// sign-out are in phone.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, seedOfficer, shot } from './harness.mjs';
import { fieldKit, text, readStore, restoreStore, recordKeys } from './field-kit.mjs';

const env = serverAndBrowser();

const { phone, enrol, unlock, reopen, until, syncNow, converge, fillField, choose, check, openSection, serverVisit } = fieldKit(() => env);

test('an officer records a car-wash visit offline; it survives a reload and reaches the server intact', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc4521', displayName: 'PC 4521 Jones' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'PC 4521 phone');
  assert.match(await page.textContent('[data-test=unsynced]'), /All synced/);
  await shot(page, 'field-01-home-360x740');

  await context.setOffline(true);
  await page.click('[data-kind=car_wash]');
  await page.waitForSelector('.visit-screen');
  const visitId = await page.getAttribute('.visit-screen', 'data-visit');
  await fillField(page, 'premises_name', 'Sparkle Hand Car Wash');
  await fillField(page, 'postcode', 'ox4 1aa');
  await page.click('[data-test=gps]');
  await page.waitForSelector('[data-test=position]');
  await openSection(page, 'Indicators seen');
  await check(page, 'indicators', 'cw_cash_only_no_receipts');
  await check(page, 'indicators', 'under_control_of_others');
  assert.equal(await page.locator('[data-set=indicators] input[data-id=nb_cash_only]').count(), 0,
    'a nail-bar indicator offered at a car wash');
  await shot(page, 'field-02-visit-offline-360x740');

  // Person 1: an adult worker, a potential victim who consents: NRM referral.
  await page.click('[data-test=add-person]');
  await page.waitForSelector('.person-screen');
  await choose(page, 'age_group', 'adult');
  await choose(page, 'gender', 'male');
  await page.selectOption('select[name=nationality]', 'AL');
  await page.waitForFunction(() => document.querySelector('select[name=nationality]').value === 'AL');
  await page.selectOption('select[name=role]', 'worker');
  await page.waitForFunction(() => document.querySelector('select[name=role]').value === 'worker');
  await choose(page, 'potential_victim', 'true');
  await check(page, 'exploitation_types', 'labour');
  await choose(page, 'nrm_consent', 'given');
  assert.match(await page.textContent('[data-test=guidance]'), /make the NRM referral/);
  await shot(page, 'field-03-person-guidance-360x740');
  await page.click('[data-test=guidance] button');
  await page.waitForSelector('[data-set=safeguarding_actions] input[data-id=nrm_referral]:checked');
  assert.match(await page.textContent('[data-test=guidance]'), /Safeguarding steps recorded/);
  await check(page, 'safeguarding_actions', 'interpreter_used');
  await page.click('text=Done');

  // Person 2: the manager, not a potential victim.
  await page.click('[data-test=add-person]');
  await page.waitForSelector('.person-screen');
  await choose(page, 'age_group', 'adult');
  await page.selectOption('select[name=role]', 'manager_or_owner');
  await page.waitForFunction(() => document.querySelector('select[name=role]').value === 'manager_or_owner');
  await choose(page, 'potential_victim', 'false');
  await page.click('text=Done');
  await page.waitForSelector('.visit-screen');
  assert.equal(await page.locator('[data-test=person-card]').count(), 2);

  const pending = Number(await page.evaluate(() => document.body.dataset.unsynced));
  assert.ok(pending > 10, `unsynced changes shown: ${pending}`);
  assert.match(await page.textContent('[data-test=last-sync]'), /Offline/);

  // Reload with no network: the service worker serves the app, IndexedDB the record.
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true').catch(async (e) => {
    await shot(page, 'debug-reload');
    const probe = await page.evaluate(async () => {
      const within = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(() => r('timeout'), ms))]);
      return {
        build: self.AIDANT_BUILD,
        controller: !!navigator.serviceWorker.controller,
        wasm: await within(fetch('/pkg/client_wasm_bg.wasm').then((r) => r.status, (e) => String(e)), 3000),
        appjs: await within(fetch('/app.js').then((r) => r.status, (e) => String(e)), 3000),
        idb: await within(new Promise((res) => { const q = indexedDB.open('aidant'); q.onsuccess = () => res('ok'); q.onerror = () => res('error'); q.onblocked = () => res('blocked'); }), 3000),
        mod: await within(import('/db.js').then(() => 'ok', (e) => String(e)), 3000),
      };
    });
    console.log('probe', JSON.stringify(probe));
    throw e;
  });
  const readyMs = await page.evaluate(() => performance.getEntriesByName('aidant-ready')[0].startTime);
  console.log(`offline reload to the lock screen: ${readyMs.toFixed(0)} ms`);
  // Locked after a reload: nothing of the visit on screen or in the URL.
  assert.equal(new URL(page.url()).hash, '#/');
  assert.doesNotMatch(await page.textContent('body'), /Sparkle|car wash|potential victim/i);
  await unlock(page);
  const unlockMs = await page.evaluate(() => performance.measure('unlock', 'aidant-unlock-start', 'aidant-unlocked').duration);
  console.log(`unlock (PBKDF2-SHA-256 600k, unwrap, decrypt, load the replica), offline: ${unlockMs.toFixed(0)} ms`);
  // Back where it was before the reload, then home.
  await page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  await page.evaluate(() => { location.hash = '#/'; });
  await page.waitForSelector('[data-test=visit-card]');
  const card = await page.textContent('[data-test=visit-card]');
  assert.match(card, /Car wash · Sparkle Hand Car Wash/);
  assert.match(card, /2 people · 1 potential victim/);
  assert.equal(Number(await page.evaluate(() => document.body.dataset.unsynced)), pending, 'unsynced count kept');
  await shot(page, 'field-04-home-offline-after-reload-360x740');

  // Nothing reached the server while offline.
  const admin = seed.adminToken;
  const before = await env.srv.api('GET', `/api/v1/visits/${visitId}?reason=check`, undefined, admin);
  assert.equal(before.status, 404, 'the visit reached the server while offline');

  // Back online: the app syncs by itself (the online event).
  const last = Number(await page.evaluate(() => document.body.dataset.lastSync));
  await context.setOffline(false);
  await page.waitForFunction((b) => Number(document.body.dataset.lastSync) > b && document.body.dataset.unsynced === '0', last, { timeout: 20_000 });
  assert.match(await page.textContent('[data-test=unsynced]'), /All synced/);
  await shot(page, 'field-05-home-synced-360x740');

  const v = await serverVisit(admin, visitId);
  assert.equal(text(v, 'location_kind'), 'car_wash');
  assert.equal(text(v, 'premises_name'), 'Sparkle Hand Car Wash');
  assert.equal(text(v, 'postcode'), 'OX4 1AA');
  assert.deepEqual(v.fields.position.value.position, { lat_e7: 517456000, lon_e7: -12345000, accuracy_m: 12 });
  assert.deepEqual([...v.sets.indicators].sort(), ['cw_cash_only_no_receipts', 'under_control_of_others']);
  assert.deepEqual(v.sets.officers, ['PC 4521 Jones']);
  assert.equal(v.persons.length, 2);
  const victim = v.persons.find((p) => p.fields.potential_victim?.value.bool === true);
  assert.ok(victim, 'the potential victim reached the server');
  assert.equal(victim.fields.nationality.value.text, 'AL');
  assert.equal(victim.fields.nrm_consent.value.text, 'given');
  assert.deepEqual([...victim.sets.safeguarding_actions].sort(), ['interpreter_used', 'nrm_referral']);
  assert.deepEqual(victim.sets.exploitation_types, ['labour']);
  const manager = v.persons.find((p) => p !== victim);
  assert.equal(manager.fields.role.value.text, 'manager_or_owner');
  assert.equal(manager.fields.potential_victim.value.bool, false);
  assert.equal(v.conflicts, 0);

  // The provisional day summary, computed on the phone.
  await page.click('text=Day summary');
  await page.waitForSelector('[data-test=provisional]');
  assert.match(await page.textContent('.summary-screen'), /People spoken to\s*2/);
  await shot(page, 'field-06-provisional-summary-360x740');
  // No horizontal scroll at 360 px on any screen seen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  await context.close();
});

test('the app shell and the wasm module are served gzipped and revalidated', async () => {
  for (const file of ['/pkg/client_wasm_bg.wasm', '/pkg/client_wasm.js', '/app.js', '/']) {
    const r = await fetch(env.srv.url + file, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200, file);
    assert.equal(r.headers.get('content-encoding'), 'gzip', file);
    assert.equal(r.headers.get('cache-control'), 'no-cache', file);
    await r.arrayBuffer();
  }
  const wasm = await fetch(`${env.srv.url}/pkg/client_wasm_bg.wasm`);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  await wasm.arrayBuffer();
  // The module goes out as the build's gzip -9 file, and revalidates with a 304.
  const { statSync } = await import('node:fs');
  const { ROOT } = await import('./harness.mjs');
  const gz = statSync(`${ROOT}/client-wasm/www/pkg/client_wasm_bg.wasm.gz`).size;
  const raw = statSync(`${ROOT}/client-wasm/www/pkg/client_wasm_bg.wasm`).size;
  const head = await fetch(`${env.srv.url}/pkg/client_wasm_bg.wasm`, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(Number(head.headers.get('content-length')), gz);
  console.log(`wasm module: ${raw} bytes, ${gz} bytes on the wire (gzip -9)`);
  const etag = head.headers.get('etag');
  assert.ok(etag, 'an ETag');
  const again = await fetch(`${env.srv.url}/pkg/client_wasm_bg.wasm`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const plain = await fetch(`${env.srv.url}/pkg/client_wasm_bg.wasm`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
  assert.equal(Number(plain.headers.get('content-length')), raw);
  assert.equal(plain.headers.get('content-encoding'), null);
  assert.equal((await fetch(`${env.srv.url}/pkg/../Cargo.toml`)).status, 404);
});

test('two officers edit one visit offline and converge, the conflict shown; a phone revoked as lost wipes itself', async () => {
  // Same crew: each phone holds the other's visits (the scope rule).
  const a = await seedOfficer(env.srv, { username: 'pc1001', displayName: 'PC 1001 Singh', team: 'Crew 1' });
  const b = await seedOfficer(env.srv, { username: 'pc1002', displayName: 'PC 1002 Evans', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const A = await phone();
  const B = await phone();
  await enrol(A.page, a.code, 'Singh phone');
  await enrol(B.page, b.code, 'Evans phone');

  await A.page.click('[data-kind=hotel]');
  await A.page.waitForSelector('.visit-screen');
  const visitId = await A.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(A.page, 'premises_name', 'Station Hotel');
  await syncNow(A.page);
  await syncNow(B.page);
  await B.page.waitForSelector('[data-test=visit-card]');
  await B.page.click('[data-test=visit-card]');
  await B.page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);

  await A.context.setOffline(true);
  await B.context.setOffline(true);
  await fillField(A.page, 'postcode', 'RG1 1AA');
  await fillField(B.page, 'postcode', 'RG1 9ZZ');
  await openSection(A.page, 'Indicators seen');
  await check(A.page, 'indicators', 'ht_many_phones');
  await openSection(B.page, 'Notes');
  await B.page.fill('textarea[name=note]', 'Receptionist says room 12 is paid weekly in cash.');
  await B.page.click('text=Add note');
  await B.page.waitForSelector('.notes li');

  await converge(A, B);

  for (const { page } of [A, B]) {
    await page.waitForSelector('[data-test=conflict]');
    const box = await page.textContent('[data-test=conflict]');
    assert.match(box, /RG1 1AA/);
    assert.match(box, /RG1 9ZZ/);
    assert.match(await page.textContent('[data-test=conflict-count]'), /1 conflict/);
    assert.ok(await page.isChecked('[data-set=indicators] input[data-id=ht_many_phones]'));
    assert.match(await page.textContent('.notes'), /paid weekly in cash/);
  }
  // Both phones show the same value on top, and the server agrees.
  const shown = async (page) => page.inputValue('[name=postcode]');
  assert.equal(await shown(A.page), await shown(B.page));
  const onServer = await serverVisit(a.adminToken, visitId);
  assert.equal(onServer.fields.postcode.value.text, await shown(A.page));
  assert.equal(onServer.fields.postcode.conflict.length, 1);
  await A.page.locator('[data-test=conflict]').scrollIntoViewIfNeeded();
  await shot(A.page, 'field-07-conflict-360x740');

  // Officer A keeps Evans's postcode; after syncing, the conflict is gone everywhere.
  await A.page.click('[data-test=conflict] button:has-text("RG1 9ZZ")');
  await A.page.waitForFunction(() => !document.querySelector('[data-test=conflict]'));
  await syncNow(A.page);
  await syncNow(B.page);
  await B.page.waitForFunction(() => !document.querySelector('[data-test=conflict]'));
  assert.equal(await shown(B.page), 'RG1 9ZZ');
  const settled = await serverVisit(a.adminToken, visitId);
  assert.equal(settled.fields.postcode.value.text, 'RG1 9ZZ');
  assert.equal(settled.conflicts, 0);

  // The admin revokes B's phone (lost, the default): at its next sync it
  // erases everything it holds and says why.
  const devices = await env.srv.api('GET', '/api/v1/devices', undefined, a.adminToken);
  const evans = devices.body.find((d) => d.label === 'Evans phone');
  assert.ok(evans, JSON.stringify(devices.body));
  const rev = await env.srv.api('POST', `/api/v1/devices/${evans.id}/revoke`, undefined, a.adminToken);
  assert.ok(rev.status < 300, JSON.stringify(rev.body));
  await B.page.click('#sync-button');
  await B.page.waitForSelector('[data-test=wiped][data-code=device_revoked]');
  assert.match(await B.page.textContent('[data-test=wiped]'), /revoked this phone as lost or stolen/);
  assert.equal(await B.page.locator('[data-kind]').count(), 0, 'a wiped phone still offers visits');
  assert.deepEqual(Object.keys(await readStore(B.page)), ['notice'], 'the store was not wiped');
  await B.page.reload();
  await B.page.waitForSelector('[data-test=wiped]');
  await B.page.waitForSelector('#enrol');
  await shot(B.page, 'field-08-revoked-wiped-360x740');
  await A.context.close();
  await B.context.close();
});

test('a damaged store is kept aside, the officer told, and what the server has comes back', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc3101', displayName: 'PC 3101 Lowe', team: 'Crew 31' });
  const A = await phone();
  await enrol(A.page, a.code, 'Lowe phone');
  await A.page.click('[data-kind=car_wash]');
  await A.page.waitForSelector('.visit-screen');
  const visitId = await A.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(A.page, 'premises_name', 'Sparkle Hand Car Wash');
  await syncNow(A.page);

  // One byte of the stored (encrypted) log flipped, as a failing flash cell would.
  const copy = await readStore(A.page);
  copy.replica.ct.bytes[copy.replica.ct.bytes.length - 5] ^= 0x40;
  await restoreStore(A.page, env.srv.url, copy);
  await unlock(A.page);
  await A.page.waitForSelector('.toast.error');
  assert.match(await A.page.textContent('.toast.error'), /could not be read.*kept aside/);
  // Nothing was overwritten: the damaged bytes are kept under their own key.
  const after = await readStore(A.page);
  assert.ok(Object.keys(after).some((k) => k.startsWith('unreadable-')), Object.keys(after).join(', '));
  // The next sync takes a fresh replica id and brings the visit back from the server.
  await syncNow(A.page);
  await A.page.waitForSelector('[data-test=visit-card]');
  assert.match(await A.page.textContent('[data-test=visit-card]'), /Sparkle Hand Car Wash/);
  // New edits under the fresh id reach the server.
  await A.page.click('[data-test=visit-card]');
  await A.page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  await fillField(A.page, 'postcode', 'RG2 0AA');
  await syncNow(A.page);
  const onServer = await serverVisit(a.adminToken, visitId);
  assert.equal(text(onServer, 'postcode'), 'RG2 0AA');
  assert.equal(text(onServer, 'premises_name'), 'Sparkle Hand Car Wash');
  await A.context.close();
});

test('a phone restored from an old copy of its store heals: both edits reach the server and a team-mate', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc3001', displayName: 'PC 3001 Patel', team: 'Crew 3' });
  const b = await seedOfficer(env.srv, { username: 'pc3002', displayName: 'PC 3002 Moss', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const A = await phone();
  const B = await phone();
  await enrol(A.page, a.code, 'Patel phone');
  await enrol(B.page, b.code, 'Moss phone');
  await A.page.click('[data-kind=hotel]');
  await A.page.waitForSelector('.visit-screen');
  const visitId = await A.page.getAttribute('.visit-screen', 'data-visit');
  await fillField(A.page, 'premises_name', 'Canal Hotel');
  await syncNow(A.page);

  // A copy of the phone's store (as a backup, or a copied profile, would
  // keep it): the lockbox and the encrypted records.
  const copy = await readStore(A.page);
  assert.deepEqual(recordKeys(copy), ['index', 'lockbox', 'meta', 'notice', 'replica']);
  // Edited after the copy, and synced: the server and the team-mate have it.
  await fillField(A.page, 'postcode', 'OX1 2AB');
  await syncNow(A.page);
  await syncNow(B.page);

  // The old copy comes back; the officer adds a note and syncs. The note
  // reuses an op id the server holds (the postcode): the phone rekeys.
  await restoreStore(A.page, env.srv.url, copy);
  await unlock(A.page);
  await A.page.waitForSelector('[data-test=visit-card]');
  await A.page.click('[data-test=visit-card]');
  await A.page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  await openSection(A.page, 'Notes');
  await A.page.fill('textarea[name=note]', 'Written on the restored phone.');
  await A.page.click('text=Add note');
  await A.page.waitForSelector('.notes li');
  await syncNow(A.page);
  await syncNow(A.page);
  await syncNow(B.page);

  const onServer = await serverVisit(a.adminToken, visitId);
  assert.equal(text(onServer, 'postcode'), 'OX1 2AB');
  assert.ok(onServer.notes.some((n) => n.text === 'Written on the restored phone.'), JSON.stringify(onServer.notes));
  for (const P of [A, B]) {
    if (!(await P.page.locator(`.visit-screen[data-visit="${visitId}"]`).count())) {
      await P.page.click('[data-test=visit-card]');
      await P.page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
    }
    await P.page.waitForFunction(() => document.querySelector('[name=postcode]')?.value === 'OX1 2AB');
    await openSection(P.page, 'Notes');
    assert.match(await P.page.textContent('.notes'), /Written on the restored phone/);
  }
  // Nothing listed as refused on the healed phone.
  await A.page.evaluate(() => { location.hash = '#/'; });
  await A.page.waitForSelector('[data-test=visit-card]');
  assert.equal(await A.page.locator('[data-test=rejected]').count(), 0);
  await A.context.close();
  await B.context.close();
});

test('a phone forgets synced visits past the operation\'s retention period; the server keeps them', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc4001', displayName: 'PC 4001 Reid', team: 'Crew 4' });
  const b = await seedOfficer(env.srv, { username: 'pc4002', displayName: 'PC 4002 Shaw', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const retention = async (days) => {
    const r = await env.srv.api('PATCH', `/api/v1/operations/${a.operationId}`, { retention_days: days }, a.adminToken);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  await retention(30);
  // The team-mate's phone (over the API) recorded a visit ten days ago.
  const e = await env.srv.api('POST', '/api/v1/enrol', { code: b.code, label: 'Shaw phone' });
  const dev = e.body.device_id;
  const visit = crypto.randomUUID();
  const op = (seq, rest) => ({ id: { replica: dev, seq }, hlc: { wall_ms: Date.now(), counter: seq }, visit, ...rest });
  const pushed = await env.srv.api('POST', '/api/v1/sync/push', { ops: [
    op(1, { type: 'create', operation: a.operationId }),
    op(2, { type: 'set', target: { visit: 'started_at' }, value: { time: Date.now() - 10 * 86_400_000 }, pred: [] }),
    op(3, { type: 'set', target: { visit: 'premises_name' }, value: { text: 'Old Mill Hotel' }, pred: [] }),
  ] }, e.body.token);
  assert.equal(pushed.body.accepted, 3, JSON.stringify(pushed.body));

  const A = await phone();
  await enrol(A.page, a.code, 'Reid phone');
  await syncNow(A.page);
  await A.page.waitForSelector('.earlier summary:has-text("Earlier (1)")');
  // Offline, the officer adds a note to it; the period then shrinks to a day.
  await A.context.setOffline(true);
  await A.page.evaluate((id) => { location.hash = `#/visit/${id}`; }, visit);
  await A.page.waitForSelector(`.visit-screen[data-visit="${visit}"]`);
  await openSection(A.page, 'Notes');
  await A.page.fill('textarea[name=note]', 'Follow-up call made.');
  await A.page.click('text=Add note');
  await A.page.waitForSelector('.notes li');
  await retention(1);
  await A.page.evaluate(() => { location.hash = '#/'; });
  await A.page.waitForSelector('.earlier summary:has-text("Earlier (1)")');
  // Back online: the note is pushed, then the visit is forgotten here only.
  await A.context.setOffline(false);
  await syncNow(A.page);
  await A.page.waitForFunction(() => !document.querySelector('.earlier'));
  const onServer = await serverVisit(a.adminToken, visit);
  assert.equal(text(onServer, 'premises_name'), 'Old Mill Hotel');
  assert.ok(onServer.notes.some((n) => n.text === 'Follow-up call made.'), JSON.stringify(onServer.notes));
  // After a reload the phone still does not hold it, and new visits still work.
  await reopen(A.page);
  await A.page.waitForSelector('[data-kind=hotel]:not([disabled])');
  assert.equal(await A.page.locator('.earlier').count(), 0);
  await A.context.close();
});

test('an app update (new service worker and shell) keeps unsynced changes', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { ROOT } = await import('./harness.mjs');
  const buildFile = `${ROOT}/client-wasm/www/pkg/build.js`;
  const original = readFileSync(buildFile, 'utf8');
  const seed = await seedOfficer(env.srv, { username: 'pc2002', displayName: 'PC 2002 Okafor' });
  const { context, page } = await phone();
  try {
    await enrol(page, seed.code, 'Okafor phone');
    const oldCache = await page.evaluate(async () => (await caches.keys()).find((k) => k.startsWith('aidant-shell-')));
    // The server cannot be reached for sync (a dead spot), but pages load.
    await context.route('**/api/v1/sync/**', (r) => r.abort('internetdisconnected'));
    await page.click('[data-kind=nail_bar]');
    await page.waitForSelector('.visit-screen');
    const visitId = await page.getAttribute('.visit-screen', 'data-visit');
    await fillField(page, 'premises_name', 'Polished Nails');
    const pending = Number(await page.evaluate(() => document.body.dataset.unsynced));
    assert.ok(pending >= 5, `pending ${pending}`);

    // A new build is deployed: the worker notices, installs the new shell and
    // drops the old cache.
    writeFileSync(buildFile, original.replace(/AIDANT_BUILD = '[^']*'/, "AIDANT_BUILD = 'e2e-update-test'"));
    await page.reload();
    await until(page, async () => {
      const keys = await caches.keys();
      return keys.includes('aidant-shell-e2e-update-test') && keys.length === 1;
    });
    assert.notEqual(oldCache, 'aidant-shell-e2e-update-test');
    await reopen(page);
    await page.evaluate(() => { location.hash = '#/settings'; });
    await page.waitForSelector('[data-test=lock-settings]');
    assert.match(await page.textContent('main'), /e2e-update-test/);
    assert.equal(Number(await page.evaluate(() => document.body.dataset.unsynced)), pending, 'unsynced changes lost in the update');

    // Signal again: the changes reach the server.
    await context.unroute('**/api/v1/sync/**');
    await syncNow(page);
    const v = await serverVisit(seed.adminToken, visitId);
    assert.equal(text(v, 'premises_name'), 'Polished Nails');
  } finally {
    writeFileSync(buildFile, original);
    await context.close();
  }
});

test('a second tab waits while the first owns the store', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc3003', displayName: 'PC 3003 Hale' });
  const { context, page } = await phone();
  try {
    await enrol(page, seed.code, 'Hale phone');
    const second = await context.newPage();
    await second.goto(`${env.srv.url}/#/`);
    await second.waitForSelector('text=open in another tab');
    assert.equal(await second.locator('[data-kind]').count(), 0, 'two tabs editing at once');
    await page.close();
    // The second tab now owns the store, locked like any newly opened page.
    await unlock(second);
    await second.waitForSelector('[data-kind=hotel]');
  } finally {
    await context.close();
  }
});
