// The field app's state (the store, the keys, the lock) and the one way an
// edit is made: applied to the Store, committed to IndexedDB, then "Saved".

import * as db from './db.js';
import * as vault from './vault.js';
import { emptyJournal, persist } from './persist.js';
import { toast } from './common.js';
import { londonDate } from './ui.js';
import { renderStatus, render } from './app.js';
import { wipe } from './session.js';

/** A write refused because the phone holds no data key (wiped or locked out). */
export class LockedError extends Error {
  constructor() {
    super('this phone is locked');
    this.code = 'locked';
  }
}

export const app = {
  /** The sync-core Store; null while locked, and while it loads after the PIN. */
  store: null,
  /** Resolves once `store` is loaded (edits and syncing wait for it). */
  ready: Promise.resolve(),
  /** What the home screen lists (persist.js), shown before the store has loaded. */
  index: null,
  /** What of the store is on disk: the base and its chunks (persist.js). */
  journal: emptyJournal(),
  meta: null,
  vocab: null,
  syncer: null,
  savedAt: null,
  skewMs: 0,
  persisted: null,
  open: {},
  pendingRender: false,
  saving: Promise.resolve(),
  /** The data key (non-extractable), in memory only; null until unlocked. */
  key: null,
  /** The clear record: wrapped keys, wrong-PIN counter, lock settings. */
  lockbox: null,
  /** False while the lock screen is shown (the key may still be in memory). */
  unlocked: false,
  /** An old, unencrypted store found at start (before PINs existed). */
  legacy: null,
  /** Why the store was last wiped (shown on the enrolment screen). */
  notice: null,
  /** The screen to go back to after unlocking. */
  lockedRoute: null,
  /** The unlock screen shows the recovery form. */
  recovering: false,
  /** Sign-out confirmations given so far (0, 1, 2). */
  signOutStep: 0,
  watch: null,
  /** The lockbox as it should be stored now (with the current unsynced count). */
  lockboxNow() {
    if (this.store && this.meta) this.lockbox.unsynced = unsynced();
    return structuredClone(this.lockbox);
  },
  /** Queues one IndexedDB transaction after the ones before it; resolves when it commits. */
  async commit(entries) {
    this.saving = this.saving.catch(() => {}).then(async () => db.write(await entries()));
    await this.saving;
  },
  /** Saves the whole store (a new base, the chunks dropped) with the index and meta. */
  async saveAll() {
    if (!this.key || !this.store || !this.meta) throw new LockedError();
    await persist(this, { full: true });
  },
  /** Saves what the store gained (a chunk) with the index and meta. */
  async saveChanges() {
    if (!this.key || !this.store || !this.meta) throw new LockedError();
    await persist(this);
  },
  async saveMeta() {
    if (!this.key || !this.meta) throw new LockedError();
    const { key } = this;
    const meta = structuredClone(this.meta);
    const lockbox = this.lockboxNow();
    await this.commit(async () => ({ meta: await vault.encryptJson(key, meta, 'meta'), lockbox }));
  },
  async saveLockbox() {
    const lockbox = this.lockboxNow();
    await this.commit(async () => ({ lockbox }));
  },
  onSyncState() { renderStatus(); },
  /** Pulled ops changed what is shown: re-render, but never under the
   *  officer's fingers (a focused input keeps its text until it loses focus). */
  onRemoteChange() {
    const a = document.activeElement;
    if (a && a.closest && a.closest('#app') && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) {
      this.pendingRender = true;
    } else {
      render();
    }
  },
  /** The server refused this phone for good (expired, unknown token): lock, keep the data. */
  async onRevoked(e) {
    this.meta.revoked = { code: e.code, message: e.message, at: Date.now() };
    await this.saveMeta();
    render();
  },
  /** Revoked as lost or stolen, or reassigned and handed in: erase everything. */
  async onWipe(code, detail) {
    await wipe(code, detail);
  },
  onSkew(ms) { this.skewMs = Math.max(this.skewMs, ms); renderStatus(); },
};

/** Runs an edit on the Store, commits to IndexedDB, then says "Saved". */
export async function edit(fn, { rerender = true } = {}) {
  await app.ready.catch(() => {});
  if (!app.store) return false;
  try {
    fn(Date.now());
  } catch (e) {
    toast(`Not saved: ${e.message}`, 'error');
    if (rerender) render();
    return false;
  }
  try {
    await app.saveChanges();
  } catch (e) {
    toast(`Could not write to this phone's storage: ${e.message}. Keep the app open and try again.`, 'error');
    return false;
  }
  app.savedAt = Date.now();
  performance.clearMarks('aidant-saved');
  performance.mark('aidant-saved'); // for benchmarks: when the last edit committed
  renderStatus();
  if (rerender) render();
  app.syncer.afterEdit();
  return true;
}

export function currentOperation() {
  const ops = app.meta.operations || [];
  const today = londonDate(Date.now());
  const chosen = ops.find((o) => o.id === app.meta.operationId);
  return chosen || ops.find((o) => o.starts_on <= today && today <= o.ends_on) || ops[0] || null;
}

/** Changes not acknowledged by the server (the lockbox's count while the store loads). */
export function unsynced() {
  if (!app.store) return app.lockbox?.unsynced || 0;
  return Math.max(0, app.store.ownSeq() - app.meta.ackedSeq);
}
