// The phone locked and encrypted (issue 11, items 1 and 2), in Chromium at
// phone size against a real server: nothing identifying in the browser
// profile on disk; the idle and background locks (and a locked page that
// keeps syncing); the PIN rules at enrolment; the wrong-PIN limit both ways
// (wiped when everything reached the server, locked until the admin's
// recovery code when not); revocation as lost and as reassigned; sign-out
// refusing to erase unsynced changes without two confirmations; a store from
// before PINs existed being encrypted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serverAndBrowser, seedOfficer, launchProfile, shot } from './harness.mjs';
import { fieldKit, PHONE, PIN, text, readStore, patchLockbox, setVisibility, recordKeys, chunkKeys } from './field-kit.mjs';

const env = serverAndBrowser();

const { watch, phone, enrol, unlock, reopen, until, syncNow, fillField, choose, openSection, addNote, serverVisit } = fieldKit(() => env);

/** Starts a visit of `kind` on the home screen; resolves to its id. */
async function startVisit(page, kind = 'hotel') {
  await page.click(`[data-kind=${kind}]`);
  await page.waitForSelector('.visit-screen');
  return page.getAttribute('.visit-screen', 'data-visit');
}

/** Types wrong PINs on the lock screen, `n` times. */
async function wrongPins(page, n, pin = '918273') {
  for (let i = 0; i < n; i++) {
    await page.waitForSelector('#unlock button[type=submit]:not([disabled])');
    const before = await page.textContent('#unlock-error');
    await page.fill('#unlock [name=pin]', pin);
    await page.click('#unlock button[type=submit]');
    // The next try: the message changes, or the lock screen goes (wiped / locked out).
    await page.waitForFunction((b) => !document.querySelector('#unlock')
      || (document.querySelector('#unlock-error').textContent !== b && !/Checking/.test(document.querySelector('#unlock-error').textContent)), before);
  }
}

async function deviceId(label, token) {
  const devices = await env.srv.api('GET', '/api/v1/devices', undefined, token);
  const d = devices.body.find((x) => x.label === label);
  assert.ok(d, JSON.stringify(devices.body));
  return d.id;
}

/** The admin pages in a desktop-sized context, signed in as the admin, on "Users and devices". */
async function adminPeople() {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  const page = watch(await context.newPage());
  await page.goto(`${env.srv.url}/admin/`);
  await page.fill('#username', 'admin');
  await page.fill('#password', env.srv.adminPassword);
  await page.click('#signin-form button[type=submit]');
  await page.click('#nav a[data-section=people]');
  await page.waitForSelector('#devices-list');
  return { context, page };
}

/** Every file under `dir`, with its path relative to it. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Which files under `dir` hold `needle` as UTF-8 or UTF-16LE bytes: [{ file, encoding }]. */
function findOnDisk(dir, needle) {
  const forms = [['utf8', Buffer.from(needle, 'utf8')], ['utf16le', Buffer.from(needle, 'utf16le')]];
  const hits = [];
  for (const file of filesUnder(dir)) {
    let bytes;
    try { bytes = readFileSync(file); } catch { continue; }
    for (const [encoding, b] of forms) if (bytes.includes(b)) hits.push({ file: path.relative(dir, file), encoding });
  }
  return hits;
}

test('the browser profile on disk holds neither a person\'s name nor a note, in UTF-8 or UTF-16LE', async () => {
  const NAME = 'Zyxquorth Vellanbrigg';
  const NOTE = 'Quokkapelt ledger umbrellawise 7Q4';
  const CONTROL = 'Plainstored Marmoset Control 55';
  const seed = await seedOfficer(env.srv, { username: 'pc5001', displayName: 'PC 5001 Quill' });
  const dir = mkdtempSync(path.join(tmpdir(), 'aidant-profile-'));
  try {
    const context = await launchProfile(dir, {
      ...PHONE, geolocation: { latitude: 51.7456, longitude: -1.2345, accuracy: 12 }, permissions: ['geolocation'],
    });
    const page = watch(context.pages()[0] || await context.newPage());
    await enrol(page, seed.code, 'Quill phone');
    const visitId = await startVisit(page, 'nail_bar');
    await fillField(page, 'premises_name', 'Gleam Nails');
    await page.click('[data-test=add-person]');
    await page.waitForSelector('.person-screen');
    await choose(page, 'age_group', 'adult');
    await openSection(page, 'Identity');
    await fillField(page, 'p-name', NAME);
    await page.click('text=Done');
    await page.waitForSelector('.visit-screen');
    await addNote(page, NOTE);
    await syncNow(page);
    // Read back after a reload (the store decrypted, then written again).
    await reopen(page);
    await page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
    assert.match(await page.textContent('.notes'), new RegExp(NOTE));
    await fillField(page, 'postcode', 'RG2 0QQ');
    await syncNow(page);
    const onServer = await serverVisit(seed.adminToken, visitId);
    assert.equal(text(onServer.persons[0], 'name'), NAME);
    // A control: the same kind of string stored in clear by the page, in
    // IndexedDB and in localStorage, must be found by the same search.
    await page.evaluate((c) => new Promise((resolve, reject) => {
      localStorage.setItem('control', c);
      const req = indexedDB.open('control', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const tx = req.result.transaction('kv', 'readwrite', { durability: 'strict' });
        tx.objectStore('kv').put({ note: c }, 'x');
        tx.oncomplete = () => { req.result.close(); resolve(); };
      };
    }), CONTROL);
    await context.close(); // flushes the profile to disk

    const stores = ['IndexedDB', 'Service Worker', 'Local Storage', 'Session Storage']
      .map((d) => path.join(dir, 'Default', d));
    assert.ok(statSync(stores[0]).isDirectory() && statSync(stores[1]).isDirectory(), 'the profile has IndexedDB and Cache Storage folders');
    const control = findOnDisk(path.join(dir, 'Default'), CONTROL);
    assert.ok(control.some((h) => h.file.startsWith('IndexedDB')), `the search did not find clear text in IndexedDB: ${JSON.stringify(control)}`);
    assert.ok(control.some((h) => h.file.startsWith('Local Storage')), `the search did not find clear text in Local Storage: ${JSON.stringify(control)}`);
    for (const needle of [NAME, NOTE]) {
      const inStores = stores.flatMap((d) => { try { return findOnDisk(d, needle); } catch { return []; } });
      assert.deepEqual(inStores, [], `“${needle}” found in the app's storage`);
      // Anywhere else in the profile (history, session restore, caches …).
      assert.deepEqual(findOnDisk(dir, needle), [], `“${needle}” found in the browser profile`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enrolment refuses a weak PIN or two different PINs (and the one-time code is not used up)', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5002', displayName: 'PC 5002 Marsh' });
  const { context, page } = await phone();
  await page.goto(`${env.srv.url}/#enrol=${seed.code}`);
  await page.waitForSelector('#enrol');
  for (const [pin, again, why] of [
    ['12345', '12345', /at least 6 digits/],
    ['111111', '111111', /repeat one digit/],
    ['123456', '123456', /run of digits/],
    ['654321', '654321', /run of digits/],
    ['121212', '121212', /short pattern/],
    ['270419', '270418', /differ/],
  ]) {
    await page.fill('#pin', pin);
    await page.fill('#pin2', again);
    await page.click('#enrol button[type=submit]');
    await page.waitForFunction((w) => new RegExp(w).test(document.querySelector('#enrol-error').textContent), why.source);
  }
  await shot(page, 'phone-01-enrol-weak-pin-360x740');
  await enrol(page, seed.code, 'Marsh phone');
  const store = await readStore(page);
  assert.deepEqual(recordKeys(store), ['index', 'lockbox', 'meta', 'notice', 'replica']);
  // Only the lockbox is in clear; it holds no token, name or PIN.
  const lb = store.lockbox;
  assert.equal(lb.pin.iterations, 600_000);
  assert.ok(lb.recovery, 'a recovery wrap (the server gave a recovery code)');
  assert.deepEqual([lb.failures, lb.maxFailures, lb.idleMs, lb.backgroundMs, lb.lockedOut], [0, 10, 300_000, 30_000, false]);
  assert.doesNotMatch(JSON.stringify(lb), /Marsh|token|270419|pc5002/);
  for (const k of ['meta', 'replica', 'index', ...chunkKeys(store)]) assert.deepEqual(Object.keys(store[k]).sort(), ['ct', 'iv', 'v'], `${k} is not encrypted`);
  await context.close();
});

test('the app locks when idle and soon after going to the background; a locked open page keeps syncing', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5003', displayName: 'PC 5003 Okoro' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Okoro phone');
  // The settings screen changes the idle time (kept in the lockbox).
  await page.click('a[href="#/settings"]');
  await page.selectOption('#lock-idleMs', '60000');
  await page.waitForSelector('.toast:has-text("Saved on this phone")');
  assert.equal((await readStore(page)).lockbox.idleMs, 60_000);
  await shot(page, 'phone-02-settings-360x740', { fullPage: true });

  // Shorter than the screen offers: 3 s idle, 1 s in the background.
  await patchLockbox(page, env.srv.url, { idleMs: 3_000, backgroundMs: 1_000 });
  await unlock(page);
  const visitId = await startVisit(page, 'hotel');
  await fillField(page, 'premises_name', 'Harbour Lights Hotel');

  // Typing keeps it open past the idle time …
  for (let i = 0; i < 5; i++) {
    await page.press('[name=postcode]', 'A');
    await new Promise((r) => setTimeout(r, 800));
  }
  assert.equal(await page.locator('#unlock').count(), 0, 'locked while in use');
  await fillField(page, 'postcode', 'PL1 2AB');
  // … and 3 s without a touch locks it: only the unlock screen is left.
  await page.waitForSelector('#unlock', { timeout: 6_000 });
  const body = await page.textContent('body');
  assert.doesNotMatch(body, /Harbour|PL1|Okoro|Hotel|unsynced|All synced/);
  assert.equal(new URL(page.url()).hash, '#/');
  await shot(page, 'phone-03-locked-360x740');
  await unlock(page);
  await page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  assert.equal(await page.inputValue('[name=postcode]'), 'PL1 2AB');

  // In the background briefly: still open. For longer than 1 s: locked.
  await setVisibility(page, 'hidden');
  await new Promise((r) => setTimeout(r, 300));
  await setVisibility(page, 'visible');
  await new Promise((r) => setTimeout(r, 1_300));
  assert.equal(await page.locator('#unlock').count(), 0, 'locked after a short trip to the background');
  await setVisibility(page, 'hidden');
  await page.waitForSelector('#unlock', { timeout: 3_000 });
  await setVisibility(page, 'visible');
  await unlock(page);
  // Longer delays for the rest of the test.
  await patchLockbox(page, env.srv.url, { idleMs: 300_000, backgroundMs: 30_000 });
  await unlock(page);
  await page.evaluate((id) => { location.hash = `#/visit/${id}`; }, visitId);

  // Locked with the page open: the key stays in memory and sync goes on.
  await page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  await context.setOffline(true);
  await addNote(page, 'Written just before the lock.');
  await page.click('a.back[href="#/"]');
  await page.click('a[href="#/settings"]');
  await page.click('[data-test=lock-now]');
  await page.waitForSelector('#unlock');
  const last = Number(await page.evaluate(() => document.body.dataset.lastSync));
  await context.setOffline(false);
  await page.waitForFunction((b) => Number(document.body.dataset.lastSync) > b && document.body.dataset.unsynced === '0', last, { timeout: 20_000 });
  assert.equal(await page.locator('#unlock').count(), 1, 'the lock screen went away');
  const v = await serverVisit(seed.adminToken, visitId);
  assert.ok(v.notes.some((n) => n.text === 'Written just before the lock.'), JSON.stringify(v.notes));

  // After a reload nothing is decrypted, so nothing syncs until the PIN.
  const syncs = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/')) syncs.push(r.url()); });
  await page.reload();
  await page.waitForSelector('#unlock');
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(syncs, [], 'a reloaded, locked page called the API');
  await unlock(page);
  await until(page, (n) => performance.getEntriesByType('resource').some((r) => r.name.includes('/api/v1/sync/pull')), null);
  assert.ok(syncs.length > 0, 'no sync after the PIN');
  await context.close();
});

test('wrong PINs: at the limit a phone whose changes all reached the server is wiped', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5004', displayName: 'PC 5004 Dunne' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Dunne phone');
  const visitId = await startVisit(page, 'car_wash');
  await fillField(page, 'premises_name', 'Suds Corner');
  await syncNow(page);
  await page.reload();
  await wrongPins(page, 3);
  assert.match(await page.textContent('#unlock-error'), /Wrong PIN\. 7 tries left/);
  // The count survives a reload (it is written before the PIN is checked).
  await page.reload();
  await page.waitForSelector('#unlock');
  assert.equal((await readStore(page)).lockbox.failures, 3);
  assert.match(await page.textContent('#unlock-error'), /7 tries left/);
  await wrongPins(page, 6);
  assert.match(await page.textContent('#unlock-error'), /1 try left/);
  await shot(page, 'phone-04-wrong-pin-360x740');
  await wrongPins(page, 1);
  await page.waitForSelector('[data-test=wiped][data-code=wrong_pins]');
  assert.deepEqual(Object.keys(await readStore(page)), ['notice']);
  await page.reload();
  await page.waitForSelector('#enrol');
  assert.match(await page.textContent('[data-test=wiped]'), /Too many wrong PINs/);
  // The server still has everything.
  assert.equal(text(await serverVisit(seed.adminToken, visitId), 'premises_name'), 'Suds Corner');
  await context.close();
});

test('wrong PINs with unsynced changes: locked until the admin\'s recovery code, then a new PIN opens it and the changes sync', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5005', displayName: 'PC 5005 Ferris' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Ferris phone');
  await context.setOffline(true);
  const visitId = await startVisit(page, 'vehicle_stop');
  await fillField(page, 'vrm', 'KX19 ABC');
  await addNote(page, 'Driver had three passports.');
  const pending = Number(await page.evaluate(() => document.body.dataset.unsynced));
  assert.ok(pending > 0);
  await page.click('a.back[href="#/"]');
  await page.reload(); // offline: the service worker serves the app
  await wrongPins(page, 10);
  await page.waitForSelector('[data-test=locked-out]');
  assert.match(await page.textContent('[data-test=locked-out]'), new RegExp(`holds ${pending} change\\(s\\) that have not reached the server`));
  assert.doesNotMatch(await page.textContent('body'), /KX19|passports|Ferris/);
  const store = await readStore(page);
  assert.equal(store.lockbox.lockedOut, true);
  assert.ok(store.meta && store.replica, 'the encrypted data was kept');
  await page.reload();
  await page.waitForSelector('[data-test=locked-out]');
  assert.equal(await page.locator('#unlock').count(), 0, 'a PIN can still be tried after the limit');
  await shot(page, 'phone-05-locked-out-360x740');

  // A wrong recovery code is refused.
  await page.fill('#recovery', 'ACDE-FGHJ-KMNP-QRTU-VWXY');
  await page.fill('#pin', '835172');
  await page.fill('#pin2', '835172');
  await page.click('#recover button[type=submit]');
  await page.waitForFunction(() => /not this phone/.test(document.querySelector('#recovery-error').textContent));

  // The admin reads the phone's recovery code (with a reason, audited).
  const admin = await adminPeople();
  const id = await deviceId('Ferris phone', seed.adminToken);
  const row = admin.page.locator(`#devices-list li[data-device="${id}"]`);
  await row.locator('button.recovery').click();
  await row.locator('button:has-text("Show recovery code")').click();
  await row.locator('.error:has-text("Say why")').waitFor();
  await row.locator('input.recovery-reason').fill('Officer locked out after wrong PINs');
  await row.locator('button:has-text("Show recovery code")').click();
  const code = (await row.locator('.recovery-code').textContent()).trim();
  assert.match(code, /^[A-Z0-9]{4}(-[A-Z0-9]{4}){4}$/);
  await shot(admin.page, 'phone-06-admin-recovery-code');
  const audit = await env.srv.api('GET', '/api/v1/admin/audit?limit=20', undefined, seed.adminToken);
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  const read = audit.body.find((r) => r.action === 'device.recovery_code');
  assert.ok(read, `no recovery-code read in the audit trail: ${JSON.stringify(audit.body).slice(0, 500)}`);
  assert.equal(read.reason, 'Officer locked out after wrong PINs');
  await admin.context.close();

  // Typed loosely on the phone, with a new PIN: it opens, the counter reset.
  await page.fill('#recovery', code.toLowerCase().replace(/-/g, ' '));
  await page.fill('#pin', '835172');
  await page.fill('#pin2', '835172');
  await page.click('#recover button[type=submit]');
  await page.waitForSelector('[data-kind=hotel]');
  assert.match(await page.textContent('[data-test=visit-card]'), /KX19 ABC/);
  const lb = (await readStore(page)).lockbox;
  assert.deepEqual([lb.failures, lb.lockedOut], [0, false]);
  // Back online, the changes reach the server.
  await context.setOffline(false);
  await page.waitForFunction(() => document.body.dataset.unsynced === '0', null, { timeout: 20_000 });
  const v = await serverVisit(seed.adminToken, visitId);
  assert.equal(text(v, 'vrm'), 'KX19 ABC');
  assert.ok(v.notes.some((n) => n.text === 'Driver had three passports.'));
  // The new PIN opens it; the old one no longer does.
  await page.reload();
  await wrongPins(page, 1, PIN);
  await unlock(page, '835172');
  // A forgotten PIN: the same code sets another one, without any wrong PIN.
  await page.reload();
  await page.click('[data-test=forgot-pin]');
  await page.fill('#recovery', code);
  await page.fill('#pin', '461952');
  await page.fill('#pin2', '461952');
  await page.click('#recover button[type=submit]');
  await page.waitForSelector('[data-kind=hotel]');
  await page.reload();
  await unlock(page, '461952');
  await context.close();
});

test('revoked as reassigned, a phone hands in its unsynced changes, then wipes; revoked as lost, it wipes at once, even locked', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc5006', displayName: 'PC 5006 Grant', team: 'Crew 6' });
  const b = await seedOfficer(env.srv, { username: 'pc5007', displayName: 'PC 5007 Hollis', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const A = await phone();
  const B = await phone();
  await enrol(A.page, a.code, 'Grant phone');
  await enrol(B.page, b.code, 'Hollis phone');
  await A.context.setOffline(true);
  await B.context.setOffline(true);
  const va = await startVisit(A.page, 'hotel');
  await fillField(A.page, 'premises_name', 'Quayside Rooms');
  await addNote(A.page, 'Handed in by a reassigned phone.');
  const vb = await startVisit(B.page, 'car_wash');
  await fillField(B.page, 'premises_name', 'Lost Phone Valeting');

  // The admin revokes A as reassigned (admin pages), B as lost (API).
  const admin = await adminPeople();
  const idA = await deviceId('Grant phone', a.adminToken);
  const row = admin.page.locator(`#devices-list li[data-device="${idA}"]`);
  await row.locator('button.revoke').click();
  await row.locator('button[data-mode=reassigned]').click();
  await admin.page.locator(`#devices-list li[data-device="${idA}"] .badge.bad`).waitFor();
  await admin.context.close();
  const idB = await deviceId('Hollis phone', a.adminToken);
  const rev = await env.srv.api('POST', `/api/v1/devices/${idB}/revoke`, { mode: 'lost' }, a.adminToken);
  assert.ok(rev.status < 300, JSON.stringify(rev.body));

  // A: back online, it pushes what it holds, then erases itself.
  const pendingA = Number(await A.page.evaluate(() => document.body.dataset.unsynced));
  await A.context.setOffline(false);
  await A.page.waitForSelector('[data-test=wiped][data-code=device_reassigned]', { timeout: 20_000 });
  assert.match(await A.page.textContent('[data-test=wiped]'), new RegExp(`handed in its last ${pendingA} change`));
  assert.deepEqual(Object.keys(await readStore(A.page)), ['notice']);
  const onServer = await serverVisit(a.adminToken, va);
  assert.equal(text(onServer, 'premises_name'), 'Quayside Rooms');
  assert.ok(onServer.notes.some((n) => n.text === 'Handed in by a reassigned phone.'));
  await shot(A.page, 'phone-07-reassigned-wiped-360x740');

  // B is locked (page open, key in memory) when the signal returns: it
  // pushes nothing and erases itself at once.
  await B.page.click('a.back[href="#/"]');
  await B.page.click('a[href="#/settings"]');
  await B.page.click('[data-test=lock-now]');
  await B.page.waitForSelector('#unlock');
  const pushes = [];
  B.page.on('request', (r) => { if (r.url().includes('/sync/push')) pushes.push(r.url()); });
  await B.context.setOffline(false);
  await B.page.waitForSelector('[data-test=wiped][data-code=device_revoked]', { timeout: 20_000 });
  assert.deepEqual(Object.keys(await readStore(B.page)), ['notice']);
  assert.equal((await env.srv.api('GET', `/api/v1/visits/${vb}?reason=check`, undefined, a.adminToken)).status, 404, 'a lost phone pushed its changes');
  assert.equal(pushes.length <= 1, true, `pushes after revocation: ${pushes.length}`);
  await A.context.close();
  await B.context.close();
});

test('sign-out of a shared phone refuses to erase unsynced changes without two confirmations', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5008', displayName: 'PC 5008 Iqbal' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Shared phone 1');
  await context.setOffline(true);
  await startVisit(page, 'nail_bar');
  await fillField(page, 'premises_name', 'Shiny Tips');
  const n = Number(await page.evaluate(() => document.body.dataset.unsynced));
  await page.click('a.back[href="#/"]');
  await page.click('a[href="#/settings"]');

  // One confirmation, then "keep": refused.
  await page.click('[data-test=sign-out]');
  assert.match(await page.textContent('[data-test=sign-out-warning]'), new RegExp(`${n} change\\(s\\) recorded on this phone have not reached the server`));
  await page.click('[data-test=sign-out-cancel]');
  await page.waitForSelector('.toast:has-text("Not signed out")');
  // Two steps, then "keep" at the second: refused too.
  await page.click('[data-test=sign-out]');
  await page.click('[data-test=sign-out-confirm]');
  assert.match(await page.textContent('[data-test=sign-out-warning]'), new RegExp(`Second confirmation: erase ${n} change`));
  await shot(page, 'phone-08-sign-out-second-confirmation-360x740');
  await page.click('[data-test=sign-out-cancel]');
  await page.waitForSelector('[data-test=sign-out]');
  assert.equal(Number(await page.evaluate(() => document.body.dataset.unsynced)), n);
  assert.deepEqual(recordKeys(await readStore(page)), ['index', 'lockbox', 'meta', 'notice', 'replica']);
  await page.click('a.back[href="#/"]');
  assert.match(await page.textContent('[data-test=visit-card]'), /Shiny Tips/);

  // Two yeses: erased.
  await page.click('a[href="#/settings"]');
  await page.click('[data-test=sign-out]');
  await page.click('[data-test=sign-out-confirm]');
  await page.click('[data-test=sign-out-confirm]');
  await page.waitForSelector('[data-test=wiped][data-code=signed_out]');
  assert.match(await page.textContent('[data-test=wiped]'), new RegExp(`with ${n} change\\(s\\) that had not reached the server`));
  assert.deepEqual(Object.keys(await readStore(page)), ['notice']);
  await context.close();

  // Everything synced: one confirmation is enough.
  const other = await seedOfficer(env.srv, { username: 'pc5009', displayName: 'PC 5009 Jaffe', operationId: seed.operationId, adminToken: seed.adminToken });
  const P = await phone();
  await enrol(P.page, other.code, 'Shared phone 2');
  await P.page.click('a[href="#/settings"]');
  await P.page.click('[data-test=sign-out]');
  await P.page.click('[data-test=sign-out-confirm]');
  await P.page.waitForSelector('[data-test=wiped][data-code=signed_out]');
  assert.match(await P.page.textContent('[data-test=wiped]'), /everything had reached the server/);
  await P.context.close();
});

test('a phone enrolled before PINs existed asks for one, then keeps its store encrypted', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc5010', displayName: 'PC 5010 Kerr' });
  const enrolled = await env.srv.api('POST', '/api/v1/enrol', { code: seed.code, label: 'Old phone' });
  assert.ok(enrolled.status < 300, JSON.stringify(enrolled.body));
  const { context, page } = await phone();
  // The old app's store: meta and the replica's bytes in clear, no lockbox.
  await page.goto(`${env.srv.url}/api/v1/openapi.json`);
  const visitId = await page.evaluate(async (e) => {
    const wasm = await import('/pkg/client_wasm.js');
    await wasm.default({ module_or_path: '/pkg/client_wasm_bg.wasm' });
    const store = new wasm.Store(e.device_id);
    const id = crypto.randomUUID();
    const now = Date.now();
    store.createVisit(now, id, e.operations[0], 'hotel');
    store.setField(now, id, JSON.stringify({ visit: 'premises_name' }), JSON.stringify({ text: 'Old Clear Hotel' }));
    const meta = {
      server: location.origin, token: e.token, deviceId: e.device_id, user: e.user,
      operations: e.operations.map((op) => ({ id: op, name: 'Operation', force_area: '', starts_on: '', ends_on: '' })),
      operationId: null, ackedSeq: 0, cursor: 0, lastSyncAt: null, lastError: null, rejected: [], revoked: null, enrolledAt: now,
    };
    const replica = store.save();
    await new Promise((resolve, reject) => {
      const req = indexedDB.open('aidant', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const tx = req.result.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(replica, 'replica');
        tx.objectStore('kv').put(meta, 'meta');
        tx.oncomplete = () => { req.result.close(); resolve(); };
      };
    });
    return id;
  }, enrolled.body);
  await page.goto(`${env.srv.url}/`);
  await page.waitForSelector('[data-test=set-pin]');
  await page.fill('#pin', '123456');
  await page.fill('#pin2', '123456');
  await page.click('#set-pin button[type=submit]');
  await page.waitForFunction(() => /run of digits/.test(document.querySelector('#set-pin .error').textContent));
  await page.fill('#pin', '594061');
  await page.fill('#pin2', '594061');
  await page.click('#set-pin button[type=submit]');
  await page.waitForSelector('[data-test=visit-card]');
  await page.waitForFunction(() => document.body.dataset.unsynced === '0', null, { timeout: 20_000 });
  assert.equal(text(await serverVisit(seed.adminToken, visitId), 'premises_name'), 'Old Clear Hotel');
  const store = await readStore(page);
  assert.deepEqual(Object.keys(store.meta).sort(), ['ct', 'iv', 'v']);
  assert.deepEqual(Object.keys(store.replica).sort(), ['ct', 'iv', 'v']);
  assert.equal(store.lockbox.recovery, null, 'no recovery code for a phone enrolled before them');
  await reopen(page, undefined, '594061');
  await page.waitForSelector('[data-test=visit-card]');
  await context.close();
});
