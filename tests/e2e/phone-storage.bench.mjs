// Benchmark of the phone's storage (issue 11, item 4), run by hand, never
// part of the tests' pass or fail; it prints figures:
//
//   node tests/e2e/phone-storage.bench.mjs [visits=2000] [ops=100000] [taps=200]
//
// (after `cargo build -p server --bin aidant && scripts/wasm-build.sh`; a
// release server is not needed: the server only enrols the phone.)
//
// In headless Chromium at phone size, a phone is enrolled, then `visits`
// visits with `ops` ops in all are made through the wasm bindings (not the
// server, to be quick) and saved. Then, offline:
//   - tap to IndexedDB committed: a yes/no button on a visit tapped `taps`
//     times; from the click to the commit (`aidant-saved` mark), p50/p95/max;
//     the same with the whole replica saved on every tap, as before the
//     incremental storage (the old path, emulated in this build);
//   - an offline reload: to the lock screen; the PIN's key derivation
//     (PBKDF2 600k); from the key to the home screen shown (from the index);
//     from the key to the replica loaded behind it (base and chunks);
//   - the old open path's parts for comparison: decrypt the whole base,
//     load it, and every visit's JSON for the home list.
// Targets from the issue: tap p95 <= 30 ms, home <= 300 ms, unlock <= 1 s.

import { startServer, seedOfficer, launchBrowser } from './harness.mjs';
import { fieldKit } from './field-kit.mjs';

const [VISITS = 2000, OPS = 100_000, TAPS = 200] = process.argv.slice(2).map(Number);

const srv = await startServer();
const browser = await launchBrowser();
const { phone, enrol, unlock } = fieldKit(() => ({ srv, browser }));
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

try {
  const seed = await seedOfficer(srv, { username: 'pc9001', displayName: 'PC 9001 Bench' });
  const { context, page } = await phone();
  await enrol(page, seed.code, 'Bench phone');
  await context.setOffline(true);

  const made = await page.evaluate(async ([visits, ops]) => {
    const { app } = await import('/state.js');
    await app.ready;
    const op = app.meta.operations[0].id;
    const kinds = ['hotel', 'car_wash', 'nail_bar', 'vehicle_stop'];
    const T = (f) => JSON.stringify({ visit: f });
    const text = (s) => JSON.stringify({ text: s });
    const perVisit = Math.max(3, Math.floor(ops / visits));
    const start = Date.now() - 4 * 86_400_000; // over the last four days (retention keeps them)
    const t0 = performance.now();
    let first = null;
    for (let i = 0; i < visits; i++) {
      const id = crypto.randomUUID();
      first ??= id;
      const now = start + Math.floor((i * 4 * 86_400_000) / visits);
      app.store.createVisit(now, id, op, kinds[i % 4]);
      app.store.setField(now, id, T('premises_name'), text(`Premises ${i}`));
      for (let k = 4; k < perVisit; k++) {
        if (k % 3 === 0) app.store.note(now + k, id, `Observation ${k} at visit ${i}: two workers, no contracts`);
        else if (k % 3 === 1) app.store.setField(now + k, id, T('address'), text(`${k} High Street, Flat ${i}`));
        else app.store.setField(now + k, id, T('summary'), text(`Summary draft ${k}`));
      }
    }
    const genMs = performance.now() - t0;
    const s0 = performance.now();
    await app.saveAll();
    return { first, ownSeq: app.store.ownSeq(), genMs, saveMs: performance.now() - s0 };
  }, [VISITS, OPS]);
  console.log(`phone holds ${VISITS} visits, ${made.ownSeq} ops (made in ${fmt(made.genMs)}, first whole save ${fmt(made.saveMs)})`);

  // Taps on a visit's yes/no button, from the click to the commit.
  await page.evaluate((id) => { location.hash = `#/visit/${id}`; }, made.first);
  await page.waitForSelector('.visit-screen');
  // `listed`: the edit changes what the home list shows (the premises name),
  // so the index is written too; otherwise a yes/no button is tapped.
  const taps = (n, listed = false) => page.evaluate(async ([count, name]) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      if (name) {
        const input = document.querySelector('[name=premises_name]');
        input.value = `Premises renamed ${i}`;
        input.dispatchEvent(new Event('change'));
      } else {
        document.querySelector(`[data-name=premises_closed] button[data-value="${i % 2 ? 'true' : 'false'}"]`).click();
      }
      for (;;) {
        const m = performance.getEntriesByName('aidant-saved')[0];
        if (m && m.startTime > t0) { out.push(m.startTime - t0); break; }
        await new Promise((r) => setTimeout(r, 0));
      }
      await new Promise((r) => setTimeout(r, 20)); // an officer's taps are not back to back
    }
    return out;
  }, [n, listed]);
  const report = (name, xs) => console.log(`${name}: p50 ${fmt(pct(xs, 50))}, p95 ${fmt(pct(xs, 95))}, max ${fmt(Math.max(...xs))} (${xs.length} taps)`);
  report('tap to IndexedDB committed, a chunk per tap (now)', await taps(TAPS));
  report('edit of a listed field to committed, a chunk and the index (now)', await taps(Math.min(TAPS, 100), true));
  await page.evaluate(async () => {
    const { app } = await import('/state.js');
    const vault = await import('/vault.js');
    app.benchSaveChanges = app.saveChanges;
    // Every tap saves the whole replica, with meta and lockbox, as before.
    app.saveChanges = async function () {
      const replica = this.store.save();
      const meta = structuredClone(this.meta);
      const lockbox = this.lockboxNow();
      await this.commit(async () => ({
        replica: await vault.encrypt(this.key, replica, 'replica'),
        meta: await vault.encryptJson(this.key, meta, 'meta'),
        lockbox,
      }));
    };
  });
  report('tap to IndexedDB committed, whole replica per tap (before)', await taps(Math.min(TAPS, 40)));

  // Leave chunks on disk as an officer's day would, then reload offline.
  await page.evaluate(async () => {
    const { app } = await import('/state.js');
    app.saveChanges = app.benchSaveChanges;
  });
  await taps(30);
  await page.evaluate(() => { location.hash = '#/'; });
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  const readyMs = await page.evaluate(() => performance.getEntriesByName('aidant-ready')[0].startTime);
  await unlock(page);
  await page.waitForSelector('[data-test=visit-card], .earlier');
  await page.waitForFunction(() => performance.getEntriesByName('aidant-store-loaded').length > 0, null, { timeout: 60_000 });
  const t = await page.evaluate(() => {
    const at = (n) => performance.getEntriesByName(n)[0].startTime;
    return {
      key: at('aidant-key') - at('aidant-unlock-start'),
      home: at('aidant-unlocked') - at('aidant-key'),
      unlock: at('aidant-unlocked') - at('aidant-unlock-start'),
      loaded: at('aidant-store-loaded') - at('aidant-key'),
    };
  });
  console.log(`offline reload to the lock screen: ${fmt(readyMs)}`);
  console.log(`PIN to key (PBKDF2-SHA-256 600k, unwrap): ${fmt(t.key)}`);
  console.log(`key to home screen shown (meta and index decrypted, list drawn): ${fmt(t.home)}`);
  console.log(`unlock, PIN to home screen: ${fmt(t.unlock)}`);
  console.log(`key to replica loaded behind the home screen (base and chunks): ${fmt(t.loaded)}`);

  // The old open path's parts, for comparison.
  const old = await page.evaluate(async () => {
    const { app } = await import('/state.js');
    const vault = await import('/vault.js');
    const db = await import('/db.js');
    const { Store } = await import('/pkg/client_wasm.js');
    const { replica } = await db.read('replica');
    const t0 = performance.now();
    const bytes = await vault.decrypt(app.key, replica, 'replica');
    const t1 = performance.now();
    const store = Store.load(bytes);
    const t2 = performance.now();
    JSON.parse(store.visitsJson());
    const t3 = performance.now();
    store.free();
    return { decrypt: t1 - t0, load: t2 - t1, visits: t3 - t2, bytes: bytes.length };
  });
  console.log(`before (old open path, same build): decrypt the whole base ${fmt(old.decrypt)} (${(old.bytes / 1e6).toFixed(1)} MB), load ${fmt(old.load)}, every visit's JSON for the list ${fmt(old.visits)}: home after the key ${fmt(old.decrypt + old.load + old.visits)} plus drawing ${VISITS} cards`);
  await context.close();
} finally {
  await browser.close();
  await srv.stop();
}
