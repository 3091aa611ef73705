// How the replica reaches IndexedDB without rewriting it on every tap.
//
// On disk (all encrypted under the data key, each record's key authenticated
// with it, so records cannot be swapped or reordered): `replica`, the base
// (sync-core's whole save, checksummed), then one `chunk-…` record per save
// since, holding only the ops gained after the save before it (sync-core's
// `saveChunk`, checksummed too), and `index`, what the home screen lists of
// every visit. An edit or a pull appends a chunk and rewrites the index in one
// transaction; loading is the base, then the chunks in key order.
//
// Compaction writes a new base and the whole index and deletes every chunk,
// in one transaction: it commits whole or not at all, and a base written with
// its chunks left behind would still load (sync-core applies an op it holds
// as a duplicate, without effect). Whatever rewrites the replica rather than
// adding to it (retention, a rekey, a fresh store) saves whole.
//
// Saves run one after the other (`app.saving`); each takes what the store
// holds when its turn comes, and tells the store once committed
// (`markSaved`), so a failed write is simply included in the next one.

import * as db from './db.js';
import * as vault from './vault.js';

/** Compact once this many chunks are waiting… */
export const COMPACT_CHUNKS = 64;
/** …or once they hold this many bytes plus half the base's size. */
export const COMPACT_BYTES = 256 * 1024;
/** Wait this long after the last save before compacting (taps are not delayed by it). */
const COMPACT_DELAY_MS = 1_500;

const plain = (v) => {
  if (!v || v === 'empty') return null;
  const [k] = Object.keys(v);
  return v[k];
};

/**
 * What the home screen shows of one visit, from sync-core's `VisitView`:
 * kind, the name of the place (premises, VRM or postcode), start, people and
 * potential victims counted, status, void and conflicts.
 */
export function indexEntry(v) {
  const f = v.fields;
  const persons = v.persons.filter((p) => !p.removed);
  return {
    kind: plain(f.location_kind?.value) || 'other',
    what: plain(f.premises_name?.value) || plain(f.vrm?.value) || plain(f.postcode?.value) || '',
    started: plain(f.started_at?.value) || 0,
    persons: persons.length,
    pv: persons.filter((p) => plain(p.fields.potential_victim?.value) === true).length,
    status: v.status,
    voided: !!v.voided,
    conflicts: v.conflicts || 0,
  };
}

/** The index of every visit of a store: `{ v: 1, visits: { id: entry } }`. */
export function indexAll(store) {
  const visits = {};
  for (const v of JSON.parse(store.visitsJson())) visits[v.id] = indexEntry(v);
  return { v: 1, visits };
}

/**
 * Brings the index's entries for `ids` up to date with the store; true when
 * one changed (most edits change nothing the list shows, and then the index
 * is not written again).
 */
export function refreshIndex(index, store, ids) {
  let changed = false;
  for (const id of ids) {
    let entry = null;
    try {
      entry = indexEntry(JSON.parse(store.visitJson(id)));
    } catch {
      // No visit (its ops were all rejected).
    }
    const old = index.visits[id];
    if (entry && (!old || JSON.stringify(old) !== JSON.stringify(entry))) {
      index.visits[id] = entry;
      changed = true;
    } else if (!entry && old) {
      delete index.visits[id];
      changed = true;
    }
  }
  return changed;
}

/** A fresh record of what is on disk: none yet. */
export const emptyJournal = () => ({ store: null, next: 1, count: 0, bytes: 0, base: 0, indexDirty: false, timer: null });

/**
 * Queues a save of `app.store`: a chunk of what it gained (whole when `full`
 * or `compact`, when the store object changed since the base, or when
 * nothing was saved yet), with the index, meta and lockbox. Resolves once
 * committed. A whole save rebuilds the index from every visit, except a
 * compaction of the same store, whose index is kept current by the chunks.
 */
export function persist(app, { full = false, compact = false } = {}) {
  app.saving = app.saving.catch(() => {}).then(() => step(app, full || compact, compact));
  return app.saving;
}

async function step(app, full, compact) {
  const { key, store, meta, journal } = app;
  if (!key || !store || !meta) throw lockedError();
  const whole = full || journal.store !== store || !app.index;
  const entries = { meta: await vault.encryptJson(key, meta, 'meta'), lockbox: app.lockboxNow() };
  let done = () => {};
  if (whole) {
    const bytes = store.save();
    // Compacting the same store: the index in memory is up to date.
    const index = compact && app.index && journal.store === store ? app.index : indexAll(store);
    entries.replica = await vault.encrypt(key, bytes, 'replica');
    entries.index = await vault.encryptJson(key, index, 'index');
    done = () => {
      app.index = index;
      Object.assign(journal, { store, count: 0, bytes: 0, base: bytes.length, indexDirty: false });
    };
  } else {
    const changed = JSON.parse(store.changedVisitsJson());
    const bytes = store.saveChunk();
    if (bytes) {
      const name = db.chunkKey(journal.next);
      // Written when an entry changed now, or in a save that did not commit.
      if (refreshIndex(app.index, store, changed)) journal.indexDirty = true;
      const listed = journal.indexDirty;
      entries[name] = await vault.encrypt(key, bytes, name);
      if (listed) entries.index = await vault.encryptJson(key, app.index, 'index');
      done = () => {
        if (listed) journal.indexDirty = false;
        journal.next += 1;
        journal.count += 1;
        journal.bytes += bytes.length;
      };
    }
  }
  await db.write(entries, { dropChunks: whole });
  store.markSaved();
  done();
  if (!whole && dueForCompaction(journal)) scheduleCompaction(app);
}

function lockedError() {
  const e = new Error('this phone is locked');
  e.code = 'locked';
  return e;
}

export function dueForCompaction(j) {
  return j.count >= COMPACT_CHUNKS || j.bytes >= COMPACT_BYTES + j.base / 2;
}

/** Compacts after a pause in saving (or at once past twice the limits). */
export function scheduleCompaction(app) {
  const j = app.journal;
  clearTimeout(j.timer);
  const now = j.count >= 2 * COMPACT_CHUNKS;
  j.timer = setTimeout(() => {
    j.timer = null;
    if (app.key && app.store && dueForCompaction(j)) {
      persist(app, { compact: true }).catch((e) => console.warn('compaction', e));
    }
  }, now ? 0 : COMPACT_DELAY_MS);
}

/** Thrown by `load` when a stored record cannot be read: the records to keep aside. */
export class Unreadable extends Error {
  constructor(cause, records) {
    super(cause.message);
    this.code = cause.code;
    this.records = records;
  }
}

/**
 * Decrypts and loads the stored replica: the base, then every chunk. Resolves
 * to `{ store, journal }` (store null when nothing was stored); a record that
 * cannot be decrypted or fails its checksum rejects with `Unreadable`, naming
 * every replica record (they are kept aside, never overwritten).
 */
export async function load(key, Store) {
  const { values, chunks } = await db.readWithChunks('replica');
  const base = values.replica;
  const journal = emptyJournal();
  const last = chunks.length ? Number(chunks[chunks.length - 1][0].slice('chunk-'.length)) : 0;
  journal.next = last + 1;
  if (!base && !chunks.length) return { store: null, journal };
  if (!base) {
    // Chunks without their base: never dropped by a fresh save.
    const e = Object.assign(new Error('the stored replica has chunks but no base'), { code: 'corrupt_store' });
    throw new Unreadable(e, Object.fromEntries(chunks));
  }
  let store = null;
  try {
    const bytes = await vault.decrypt(key, base, 'replica');
    store = Store.load(bytes);
    journal.base = bytes.length;
    for (const [name, sealed] of chunks) {
      const chunk = await vault.decrypt(key, sealed, name);
      store.loadChunk(chunk);
      journal.count += 1;
      journal.bytes += chunk.length;
    }
  } catch (e) {
    store?.free();
    throw new Unreadable(e, { replica: base, ...Object.fromEntries(chunks) });
  }
  journal.store = store;
  return { store, journal };
}

/** The stored home-screen index, or null when absent or unreadable (it is rebuilt). */
export async function loadIndex(key, sealed) {
  if (!sealed) return null;
  try {
    const index = await vault.decryptJson(key, sealed, 'index');
    return index && index.v === 1 && index.visits ? index : null;
  } catch {
    return null;
  }
}
