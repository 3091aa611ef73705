// Incremental storage on the phone (issue 11, item 4), in Chromium against a
// real server: an edit appends an encrypted chunk and leaves the base alone;
// base and chunks load after a reload; compaction rewrites the base and drops
// the chunks in one transaction, and an interrupted compaction (or a base
// rewritten with its chunks left behind) still loads everything; a damaged
// chunk is kept aside like a damaged base; the home screen's encrypted index
// says what the replica says after edits and pulls, and shows after a reload
// before the replica has loaded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, seedOfficer } from './harness.mjs';
import { fieldKit, readStore, restoreStore, recordKeys, chunkKeys } from './field-kit.mjs';

const env = serverAndBrowser();

const { phone, enrol, unlock, reopen, syncNow, fillField, choose, addNote } = fieldKit(() => env);

/** Starts a visit of `kind` on the home screen; resolves to its id. */
async function startVisit(page, kind = 'hotel') {
  await page.click(`[data-kind=${kind}]`);
  await page.waitForSelector('.visit-screen');
  return page.getAttribute('.visit-screen', 'data-visit');
}

/** Adds `n` notes to a visit through the app's own `edit` (as taps would). */
async function notes(page, visitId, n, prefix) {
  await page.evaluate(async ([vid, k, p]) => {
    const { app, edit } = await import('/state.js');
    for (let i = 0; i < k; i++) {
      if (!(await edit((now) => app.store.note(now, vid, `${p} ${i}`), { rerender: false }))) throw new Error('not saved');
    }
  }, [visitId, n, prefix]);
}

/** The app's notes of a visit, as the store has them. */
async function noteTexts(page, visitId) {
  return page.evaluate(async (vid) => {
    const { app } = await import('/state.js');
    await app.ready;
    return JSON.parse(app.store.visitJson(vid)).notes.map((x) => x.text);
  }, visitId);
}

/** The index in memory, the index on disk (decrypted) and one made afresh from the replica. */
async function indexes(page) {
  return page.evaluate(async () => {
    const { app } = await import('/state.js');
    const { indexAll, loadIndex } = await import('/persist.js');
    const db = await import('/db.js');
    await app.ready;
    await app.saving;
    const stored = await loadIndex(app.key, (await db.read('index')).index);
    return { memory: app.index, stored, replica: indexAll(app.store) };
  });
}

/** Waits until no chunk is left (a compaction has run). */
async function compacted(page) {
  for (let i = 0; i < 100; i++) {
    if (chunkKeys(await readStore(page)).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no compaction');
}

test('edits append encrypted chunks, leave the base alone, and load after a reload', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc7001', displayName: 'PC 7001 Ashe' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Ashe phone');
  await context.setOffline(true);
  const base = (await readStore(page)).replica;
  const visitId = await startVisit(page, 'car_wash');
  await fillField(page, 'premises_name', 'Bubbles Car Wash');
  await addNote(page, 'Two workers sleeping on site');
  const store = await readStore(page);
  assert.deepEqual(store.replica, base, 'the base is not rewritten by an edit');
  const chunks = chunkKeys(store);
  assert.ok(chunks.length >= 3, `one chunk per save: ${chunks}`);
  for (const k of [...chunks, 'index']) assert.deepEqual(Object.keys(store[k]).sort(), ['ct', 'iv', 'v'], `${k} is not encrypted`);
  const sizes = chunks.map((k) => store[k].ct.bytes.length);
  assert.ok(Math.max(...sizes) < 400, `a chunk holds only the new ops: ${sizes}`);

  await reopen(page);
  await page.waitForSelector(`.visit-screen[data-visit="${visitId}"]`);
  assert.equal(await page.inputValue('[name=premises_name]'), 'Bubbles Car Wash');
  assert.deepEqual(await noteTexts(page, visitId), ['Two workers sleeping on site']);
  // And numbering goes on: a further edit after the reload reaches the server.
  await fillField(page, 'postcode', 'OX4 1AA');
  await context.setOffline(false);
  await syncNow(page);
  assert.equal(Number(await page.evaluate(() => document.body.dataset.unsynced)), 0);
  await context.close();
});

test('compaction rewrites the base and drops the chunks; interrupted, or half done, everything still loads', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc7002', displayName: 'PC 7002 Brook' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Brook phone');
  await context.setOffline(true);
  const visitId = await startVisit(page, 'hotel');
  const base = (await readStore(page)).replica;

  // Past the chunk limit: compacted after a pause, base new, no chunk left.
  await notes(page, visitId, 70, 'first');
  await compacted(page);
  const after70 = await readStore(page);
  assert.notDeepEqual(after70.replica, base, 'a new base');
  await reopen(page);
  assert.equal((await noteTexts(page, visitId)).length, 70);

  // Interrupted: the transaction fails after the new base is put (its chunk
  // deletion throws), so nothing of it is kept.
  await notes(page, visitId, 10, 'second');
  const before = await readStore(page);
  assert.equal(chunkKeys(before).length, 10);
  const failed = await page.evaluate(async () => {
    const { app } = await import('/state.js');
    const { persist } = await import('/persist.js');
    const real = IDBObjectStore.prototype.delete;
    IDBObjectStore.prototype.delete = function () { throw new Error('power cut'); };
    try {
      await persist(app, { full: true });
      return 'committed';
    } catch (e) {
      return e.message;
    } finally {
      IDBObjectStore.prototype.delete = real;
    }
  });
  assert.equal(failed, 'power cut');
  const interrupted = await readStore(page);
  assert.deepEqual(interrupted.replica, before.replica, 'the base is unchanged');
  assert.deepEqual(chunkKeys(interrupted), chunkKeys(before), 'the chunks are kept');
  await reopen(page);
  assert.equal((await noteTexts(page, visitId)).length, 80);

  // Half done (as a store without atomic transactions could leave it): the
  // new base written, the old chunks still there. Their ops load as
  // duplicates, without effect.
  await notes(page, visitId, 5, 'third');
  await page.evaluate(async () => {
    const { app } = await import('/state.js');
    const vault = await import('/vault.js');
    const db = await import('/db.js');
    await app.saving;
    await db.write({ replica: await vault.encrypt(app.key, app.store.save(), 'replica') });
  });
  const half = await readStore(page);
  assert.ok(chunkKeys(half).length >= 5);
  await reopen(page);
  const texts = await noteTexts(page, visitId);
  assert.equal(texts.length, 85);
  assert.equal(new Set(texts).size, 85);
  // Edits go on after all that, and reach the server once.
  await context.setOffline(false);
  await syncNow(page);
  assert.equal(Number(await page.evaluate(() => document.body.dataset.unsynced)), 0);
  await context.close();
});

test('a damaged chunk is kept aside with its base, the officer told, and what the server has comes back', async () => {
  const seed = await seedOfficer(env.srv, { username: 'pc7003', displayName: 'PC 7003 Crane' });
  const A = await phone();
  await enrol(A.page, seed.code, 'Crane phone');
  const visitId = await startVisit(A.page, 'nail_bar');
  await fillField(A.page, 'premises_name', 'Polished Nails');
  await syncNow(A.page);
  const copy = await readStore(A.page);
  const [first] = chunkKeys(copy);
  assert.ok(first, 'a chunk to damage');
  copy[first].ct.bytes[3] ^= 0x40;
  await restoreStore(A.page, env.srv.url, copy);
  await unlock(A.page);
  await A.page.waitForSelector('.toast.error');
  assert.match(await A.page.textContent('.toast.error'), /could not be read.*kept aside/);
  await A.page.evaluate(async () => { const { app } = await import('/state.js'); await app.ready; });
  const after = await readStore(A.page);
  const aside = Object.keys(after).filter((k) => k.startsWith('unreadable-'));
  assert.ok(aside.some((k) => k.endsWith(first)), `the damaged chunk is kept: ${aside}`);
  assert.ok(aside.some((k) => /^unreadable-\d+$/.test(k)), `its base is kept: ${aside}`);
  for (const k of chunkKeys(after)) assert.notDeepEqual(after[k], copy[first], 'the live store starts over');
  await syncNow(A.page);
  await A.page.waitForSelector(`[data-test=visit-card][data-visit="${visitId}"]`);
  assert.match(await A.page.textContent('[data-test=visit-card]'), /Polished Nails/);
  await A.context.close();
});

test('the home index says what the replica says after edits and pulls, and shows before the replica loads', async () => {
  const a = await seedOfficer(env.srv, { username: 'pc7004', displayName: 'PC 7004 Dale', team: 'Crew 70' });
  const b = await seedOfficer(env.srv, { username: 'pc7005', displayName: 'PC 7005 Eyre', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId });
  const A = await phone();
  const B = await phone();
  await enrol(A.page, a.code, 'Dale phone');
  await enrol(B.page, b.code, 'Eyre phone');

  // A records two visits; one gets a person who is a potential victim.
  const v1 = await startVisit(A.page, 'car_wash');
  await fillField(A.page, 'premises_name', 'Foam Car Wash');
  await A.page.click('[data-test=add-person]');
  await A.page.waitForSelector('.person-screen');
  await choose(A.page, 'potential_victim', 'true');
  await A.page.click('text=Done');
  await A.page.waitForSelector('.visit-screen');
  await A.page.click('a.back[href="#/"]');
  const v2 = await startVisit(A.page, 'vehicle_stop');
  await fillField(A.page, 'vrm', 'AB12 CDE');
  let ix = await indexes(A.page);
  assert.deepEqual(ix.memory, ix.replica);
  assert.deepEqual(ix.stored, ix.replica);
  assert.equal(ix.replica.visits[v1].pv, 1);
  assert.equal(ix.replica.visits[v2].what, 'AB12 CDE');
  await syncNow(A.page);

  // B pulls both, edits one; A and B both make the postcode differ (a
  // conflict, counted in the index after the pull).
  await syncNow(B.page);
  ix = await indexes(B.page);
  assert.deepEqual(Object.keys(ix.replica.visits).sort(), [v1, v2].sort());
  assert.deepEqual(ix.memory, ix.replica);
  assert.deepEqual(ix.stored, ix.replica);
  await B.page.click(`[data-test=visit-card][data-visit="${v1}"]`);
  await B.page.waitForSelector('.visit-screen');
  await fillField(B.page, 'postcode', 'RG1 1AA');
  await A.page.click('a.back[href="#/"]');
  await A.page.click(`[data-test=visit-card][data-visit="${v1}"]`);
  await A.page.waitForSelector('.visit-screen');
  await fillField(A.page, 'postcode', 'RG9 9ZZ');
  await syncNow(B.page);
  await syncNow(A.page);
  await syncNow(B.page);
  for (const P of [A, B]) {
    ix = await indexes(P.page);
    assert.deepEqual(ix.memory, ix.replica);
    assert.deepEqual(ix.stored, ix.replica);
    assert.equal(ix.replica.visits[v1].conflicts, 1);
  }

  // After a reload the home screen shows from the index; it matches.
  await B.page.evaluate(() => { location.hash = '#/'; });
  await reopen(B.page);
  await B.page.waitForSelector(`[data-test=visit-card][data-visit="${v1}"]`);
  await B.page.waitForFunction(() => performance.getEntriesByName('aidant-store-loaded').length > 0);
  assert.ok(await B.page.evaluate(() => performance.getEntriesByName('aidant-unlocked')[0].startTime
    < performance.getEntriesByName('aidant-store-loaded')[0].startTime), 'the home screen was shown before the replica had loaded');
  const card = await B.page.textContent(`[data-test=visit-card][data-visit="${v1}"]`);
  assert.match(card, /Car wash · Foam Car Wash/);
  assert.match(card, /1 person · 1 potential victim/);
  assert.match(card, /1 conflict/);
  assert.match(await B.page.textContent(`[data-test=visit-card][data-visit="${v2}"]`), /AB12 CDE/);
  assert.deepEqual(recordKeys(await readStore(B.page)), ['index', 'lockbox', 'meta', 'notice', 'replica']);
  await A.context.close();
  await B.context.close();
});
