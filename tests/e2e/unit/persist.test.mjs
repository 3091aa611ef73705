// Unit tests of the field app's incremental storage (client-wasm/www/
// persist.js) over the real wasm Store under Node: a base plus chunks loads
// as the store; a chunk holds only the new ops; the home index refreshed from
// the changed visits equals one built from every visit; the compaction rule.
// Needs client-wasm/www/pkg (scripts/wasm-build.sh; scripts/e2e.sh builds it
// before running these).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, Store } from '../../../client-wasm/www/pkg/client_wasm.js';
import { indexAll, refreshIndex, dueForCompaction, emptyJournal, COMPACT_CHUNKS, COMPACT_BYTES } from '../../../client-wasm/www/persist.js';

initSync({ module: readFileSync(new URL('../../../client-wasm/www/pkg/client_wasm_bg.wasm', import.meta.url)) });

const ME = '00000000-0000-4000-8000-000000000001';
const OP = '00000000-0000-4000-8000-0000000000aa';
const V1 = '00000000-0000-4000-8000-000000000101';
const V2 = '00000000-0000-4000-8000-000000000102';
const P1 = '00000000-0000-4000-8000-000000000201';
const T = (f) => JSON.stringify({ visit: f });
const text = (s) => JSON.stringify({ text: s });

test('a base and its chunks load as the store; each chunk holds only the new ops', () => {
  const s = new Store(ME);
  s.createVisit(1_000, V1, OP, 'hotel');
  const base = s.save();
  s.markSaved();
  assert.equal(s.saveChunk(), undefined, 'nothing new, no chunk');
  const chunks = [];
  for (let i = 0; i < 20; i++) {
    s.note(2_000 + i, V1, `note ${i}`);
    const c = s.saveChunk();
    s.markSaved();
    chunks.push(c);
  }
  assert.ok(chunks.every((c) => c.length < 120), `small chunks: ${chunks.map((c) => c.length)}`);
  // A chunk not marked saved (its write failed) is made again, with more.
  s.setField(3_000, V1, T('postcode'), text('OX1 1AA'));
  const lost = s.saveChunk();
  s.setField(3_001, V1, T('premises_name'), text('Canal Hotel'));
  const again = s.saveChunk();
  s.markSaved();
  assert.ok(again.length > lost.length);
  chunks.push(again);

  const back = Store.load(base);
  for (const c of chunks) back.loadChunk(c);
  assert.equal(back.visitJson(V1), s.visitJson(V1));
  assert.equal(back.ownSeq(), s.ownSeq());
  // Applied twice (a compaction whose deletion was lost): nothing changes.
  for (const c of chunks) assert.equal(back.loadChunk(c), 0);
  assert.equal(back.visitJson(V1), s.visitJson(V1));
  // A damaged chunk is refused whole, with the store's corrupt code.
  const bad = chunks[0].slice();
  bad[bad.length - 7] ^= 1;
  assert.throws(() => Store.load(base).loadChunk(bad), (e) => e.code === 'corrupt_store');
  // Numbering goes on after a load.
  back.note(9_000, V1, 'after');
  assert.equal(back.ownSeq(), s.ownSeq() + 1);
  for (const x of [s, back]) x.free();
});

test('the home index refreshed from the changed visits equals one built from every visit', () => {
  const s = new Store(ME);
  s.createVisit(1_000, V1, OP, 'car_wash');
  s.save();
  s.markSaved();
  const index = indexAll(s);
  assert.deepEqual(Object.keys(index.visits), [V1]);
  s.createVisit(2_000, V2, OP, 'vehicle_stop');
  s.setField(2_001, V2, T('vrm'), text('AB12 CDE'));
  s.setField(2_002, V1, T('premises_name'), text('Foam Car Wash'));
  s.addPerson(2_003, V1, P1);
  s.setField(2_004, V1, JSON.stringify({ person: [P1, 'potential_victim'] }), JSON.stringify({ bool: true }));
  const changed = JSON.parse(s.changedVisitsJson());
  assert.deepEqual(changed.sort(), [V1, V2].sort());
  assert.equal(refreshIndex(index, s, changed), true);
  assert.deepEqual(index, indexAll(s));
  // An edit of something the list does not show leaves the index as it was.
  s.setField(2_005, V1, T('summary'), text('Two rooms, one locked'));
  assert.equal(refreshIndex(index, s, [V1]), false);
  assert.deepEqual(index, indexAll(s));
  assert.deepEqual(index.visits[V1], {
    kind: 'car_wash', what: 'Foam Car Wash', started: 1_000, persons: 1, pv: 1, status: 'draft', voided: false, conflicts: 0,
  });
  assert.equal(index.visits[V2].what, 'AB12 CDE');
  s.saveChunk();
  s.markSaved();
  assert.deepEqual(JSON.parse(s.changedVisitsJson()), []);
  s.free();
});

test('compaction is due past a number of chunks, or past their bytes plus half the base', () => {
  const j = emptyJournal();
  assert.equal(dueForCompaction(j), false);
  assert.equal(dueForCompaction({ ...j, count: COMPACT_CHUNKS }), true);
  assert.equal(dueForCompaction({ ...j, count: 3, bytes: COMPACT_BYTES }), true);
  assert.equal(dueForCompaction({ ...j, count: 3, bytes: COMPACT_BYTES, base: 4 * COMPACT_BYTES }), false);
  assert.equal(dueForCompaction({ ...j, count: 3, bytes: 3 * COMPACT_BYTES, base: 4 * COMPACT_BYTES }), true);
});
