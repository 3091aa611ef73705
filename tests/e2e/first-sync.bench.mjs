// Benchmark of a new phone's first sync (issue 11, item 4), run by hand,
// never part of the tests' pass or fail; it prints figures:
//
//   node tests/e2e/first-sync.bench.mjs [visits=500] [ops_per_visit=40]
//
// (after `cargo build --release -p server --bin aidant && scripts/wasm-build.sh`;
// AIDANT_BIN picks the server binary, see harness.mjs.)
//
// In headless Chromium at phone size, officer A's phone records `visits`
// visits of about `ops_per_visit` ops each (through the bindings, edits that
// overwrite one another as an officer's do) and syncs them. Then two
// team-mates' phones enrol: one takes snapshots (each visit's merged state),
// the other is refused snapshots (404, as an older server) and pulls every
// op. For each: enrolment submitted to the first sync done, bytes on the
// wire for /sync/ (gzipped as sent), and the visits it then holds.
// Target from the issue: 500 visits in 2 s or less.

import { startServer, seedOfficer, launchBrowser } from './harness.mjs';
import { fieldKit } from './field-kit.mjs';

const [VISITS = 500, PER = 40] = process.argv.slice(2).map(Number);

const srv = await startServer();
const browser = await launchBrowser();
const { phone, enrol, syncNow } = fieldKit(() => ({ srv, browser }));

try {
  const a = await seedOfficer(srv, { username: 'pc9101', displayName: 'PC 9101 Author', team: 'Bench crew' });
  const A = await phone();
  await enrol(A.page, a.code, 'Author phone');
  const ops = await A.page.evaluate(async ([visits, per]) => {
    const { app } = await import('/state.js');
    await app.ready;
    const op = app.meta.operations[0].id;
    const kinds = ['hotel', 'car_wash', 'nail_bar', 'vehicle_stop'];
    const T = (f) => JSON.stringify({ visit: f });
    const text = (s) => JSON.stringify({ text: s });
    const start = Date.now() - 2 * 86_400_000;
    for (let i = 0; i < visits; i++) {
      const id = crypto.randomUUID();
      const now = start + i * 60_000;
      app.store.createVisit(now, id, op, kinds[i % 4]);
      for (let k = 4; k < per; k++) {
        if (k % 5 === 0) app.store.note(now + k, id, `Observation ${k}: two workers, no contracts`);
        else if (k % 5 === 1) app.store.setField(now + k, id, T('address'), text(`${k} High Street, Flat ${i}`));
        else if (k % 5 === 2) app.store.setField(now + k, id, T('premises_name'), text(`Premises ${i} (${k})`));
        else app.store.setField(now + k, id, T('summary'), text(`Summary draft ${k} of visit ${i}`));
      }
    }
    await app.saveAll();
    return app.store.ownSeq();
  }, [VISITS, PER]);
  await syncNow(A.page);
  await A.page.waitForFunction(() => document.body.dataset.unsynced === '0' || !document.body.dataset.unsynced, null, { timeout: 120_000 });
  console.log(`author's phone recorded and synced ${VISITS} visits, ${ops} ops`);

  for (const [name, snapshots] of [['snapshots', true], ['history (snapshots refused)', false]]) {
    const seed = await seedOfficer(srv, {
      username: snapshots ? 'pc9102' : 'pc9103', displayName: 'PC Newcomer', operationId: a.operationId, adminToken: a.adminToken, teamId: a.teamId,
    });
    const P = await phone();
    if (!snapshots) {
      await P.context.route('**/api/v1/sync/snapshot**', (r) => r.fulfill({
        status: 404, contentType: 'application/json', body: '{"code":"not_found","message":"no such route"}',
      }));
    }
    let bytes = 0;
    P.page.on('response', (r) => {
      if (r.url().includes('/api/v1/sync/')) bytes += Number(r.headers()['content-length'] || 0);
    });
    let t0 = 0;
    P.page.on('request', (r) => { if (!t0 && r.url().endsWith('/api/v1/enrol')) t0 = Date.now(); });
    await enrol(P.page, seed.code, name);
    const firstSync = Number(await P.page.evaluate(() => document.body.dataset.lastSync));
    const held = await P.page.evaluate(async () => (await import('/state.js')).app.store.visitCount());
    console.log(`${name.padEnd(28)} enrol to first sync ${String(firstSync - t0).padStart(6)} ms, ` +
      `${(bytes / 1024).toFixed(1).padStart(8)} KiB on the wire (${(bytes / Math.max(held, 1)).toFixed(0)} B a visit), holds ${held} visits`);
    await P.context.close();
  }
} finally {
  await browser.close();
  await srv.stop();
}
