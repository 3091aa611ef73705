// The phone's durable store: one IndexedDB database, one key-value object
// store. `replica` holds sync-core's saved bytes; `meta` the device's
// enrolment and sync state. Writes resolve only once the transaction has
// committed (durability "strict"), so "saved" on screen means on disk.

const NAME = 'aidant';
let dbp;

function open() {
  dbp ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('kv');
    req.onsuccess = () => resolve(req.result);
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

/** Writes several keys in one transaction; resolves after the commit. */
export async function write(entries) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
    for (const [k, v] of Object.entries(entries)) tx.objectStore('kv').put(v, k);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('storage write aborted'));
  });
}
