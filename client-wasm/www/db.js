// The phone's durable store: one IndexedDB database, one key-value object
// store. `replica` holds sync-core's saved bytes (the base), `chunk-…` the
// ops gained since, one record per save, in key order (persist.js), `index`
// what the home screen lists and `meta` the device's enrolment and sync
// state, all encrypted under the data key (vault.js);
// `lockbox` is the one record in clear (the wrapped data key, the wrong-PIN
// counter, the lock settings and the number of unsynced changes); `notice`,
// also in clear, says why the store was last wiped. Writes resolve only once
// the transaction has committed (durability "strict"), so "saved" on screen
// means on disk.

const NAME = 'aidant';
let dbp;

function open() {
  dbp ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('kv');
    req.onsuccess = () => {
      // Another page asking to delete the database (a wipe) closes this one.
      req.result.onversionchange = () => { req.result.close(); dbp = null; };
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('storage is blocked by another tab of this app'));
  });
  return dbp;
}

/** Reads keys; resolves to an object key → value (undefined when absent). */
export async function read(...keys) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('kv', 'readonly');
    const out = {};
    for (const k of keys) {
      const r = tx.objectStore('kv').get(k);
      r.onsuccess = () => { out[k] = r.result; };
    }
    tx.oncomplete = () => resolve(out);
    tx.onerror = () => reject(tx.error);
  });
}

/** The key of the `n`th chunk: sorts in chunk order. */
export const chunkKey = (n) => `chunk-${String(n).padStart(12, '0')}`;
const chunks = () => IDBKeyRange.bound('chunk-', 'chunk-\uffff');

/**
 * Reads keys and every chunk in one transaction (a consistent view):
 * resolves to { values: key → value, chunks: [[key, value], …] in order }.
 */
export async function readWithChunks(...keys) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('kv', 'readonly');
    const kv = tx.objectStore('kv');
    const values = {};
    let chunkKeys = [];
    let chunkValues = [];
    for (const k of keys) {
      const r = kv.get(k);
      r.onsuccess = () => { values[k] = r.result; };
    }
    const ks = kv.getAllKeys(chunks());
    ks.onsuccess = () => { chunkKeys = ks.result; };
    const vs = kv.getAll(chunks());
    vs.onsuccess = () => { chunkValues = vs.result; };
    tx.oncomplete = () => resolve({ values, chunks: chunkKeys.map((k, i) => [k, chunkValues[i]]) });
    tx.onerror = () => reject(tx.error);
  });
}

/**
 * Writes several keys in one transaction; resolves after the commit. With
 * `dropChunks`, every chunk is deleted in the same transaction (the new
 * base holds their ops): it commits whole or not at all.
 */
export async function write(entries, { dropChunks = false } = {}) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('storage write aborted'));
    try {
      const kv = tx.objectStore('kv');
      for (const [k, v] of Object.entries(entries)) kv.put(v, k);
      if (dropChunks) kv.delete(chunks());
    } catch (e) {
      // Nothing of a half-made transaction is kept.
      try { tx.abort(); } catch { /* already finished */ }
      reject(e);
    }
  });
}

/**
 * Deletes the whole database (a wipe): closes this page's connection first,
 * resolves once the browser has deleted it. The next read or write starts an
 * empty one.
 */
export async function wipe() {
  if (dbp) {
    const db = await dbp.catch(() => null);
    db?.close();
    dbp = null;
  }
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(NAME);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
    req.onblocked = () => { /* waits for other connections to close (they do on versionchange) */ };
  });
}
