// Sync with the server: push this phone's unacknowledged ops, then pull what
// others wrote, both in sync-core's wire format. Runs when the phone comes
// back online, on a timer (60 s after a success; 5 s, 10 s, 20 s … up to
// 5 min with jitter after a failure), a few seconds after an edit, and from
// the Sync button. Every merge decision is sync-core's (applyWire). A new
// phone's first sync takes each visit's merged state (adoptSnapshot) rather
// than every op of its history.

const PUSH_BATCH = 500;
const PULL_PAGE = 500;
const SNAPSHOT_PAGE = 200;
const OK_INTERVAL = 60_000;
const MAX_BACKOFF = 300_000;

/** An error answered by the server (or the network), with a stable code. */
export class SyncError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export class Syncer {
  /**
   * `app` gives: store (wasm Store), meta (persisted state), key (the data
   * key: null when wiped or locked out), saveAll() (the whole replica and
   * meta in one IndexedDB transaction), saveChanges() (what the replica
   * gained and meta, likewise), saveMeta(), onSyncState(state), onRevoked(error),
   * onWipe(code, detail), onRemoteChange(), onSkew(ms).
   *
   * Revocation: `device_revoked` (lost or stolen) wipes at once, pushing
   * nothing more; `device_reassigned` first hands in the unsynced changes
   * (the server still accepts that device's pushes, nothing else), then
   * wipes; `device_expired` and an unknown token lock, keeping the data.
   */
  constructor(app) {
    this.app = app;
    this.running = null;
    this.failures = 0;
    this.timer = null;
    this.nextAt = null;
    this.listening = false;
    this.stopped = true;
    /** Bumped by stop(): a run from before a stop writes nothing after it. */
    this.gen = 0;
  }

  start() {
    if (!this.listening) {
      this.listening = true;
      addEventListener('online', () => { if (!this.stopped) this.soon(0); });
      addEventListener('offline', () => this.app.onSyncState());
    }
    this.stopped = false;
    this.failures = 0;
    this.soon(0);
  }

  /** Stops syncing (a wipe, a lock-out): no more runs; one in flight saves nothing more. */
  stop() {
    this.stopped = true;
    this.gen += 1;
    clearTimeout(this.timer);
    this.timer = null;
    this.nextAt = null;
  }

  /** Schedules a run in `ms` (replacing a later one). */
  soon(ms) {
    if (this.stopped) return;
    const at = Date.now() + ms;
    if (this.timer && this.nextAt !== null && this.nextAt <= at) return;
    clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => { this.timer = null; this.nextAt = null; this.run(); }, ms);
  }

  /** After a local edit: sync shortly, unless offline (the online event will). */
  afterEdit() {
    if (navigator.onLine && this.failures === 0) this.soon(2_000);
  }

  /** Runs one sync now (joins a running one). */
  run() {
    this.running ??= this.#run().finally(() => { this.running = null; });
    return this.running;
  }

  async #run() {
    const a = this.app;
    if (this.stopped || !a.meta?.token || !a.key) return;
    const reassigned = a.meta.revoked?.code === 'device_reassigned';
    if (a.meta.revoked && !reassigned) return;
    const gen = this.gen;
    // Unsynced when this run began: what a reassigned phone hands in is
    // counted from here (the push below may already carry it).
    const pending = Math.max(0, a.store.ownSeq() - a.meta.ackedSeq);
    this.state = 'syncing';
    a.onSyncState();
    try {
      if (reassigned) {
        await this.#handIn(gen, pending);
        return;
      }
      await this.#push();
      await this.#pull();
      await this.#refresh();
      await this.#forgetExpired();
      a.meta.lastSyncAt = Date.now();
      a.meta.lastError = null;
      await a.saveMeta();
      this.failures = 0;
      this.state = 'ok';
      this.soon(OK_INTERVAL);
    } catch (e) {
      if (gen !== this.gen || !a.meta) return; // stopped meanwhile (wiped, locked out)
      if (e.code === 'device_revoked') {
        // Lost or stolen: push nothing more, erase now.
        this.state = 'revoked';
        this.stop();
        await a.onWipe('device_revoked');
        return;
      }
      if (e.code === 'device_reassigned') {
        a.meta.revoked = { code: e.code, message: e.message, at: Date.now() };
        await a.saveMeta().catch(() => {});
        a.onRemoteChange();
        try {
          await this.#handIn(gen, pending);
        } catch (e2) {
          await this.#failed(e2, gen);
        }
        return;
      }
      if (e.code === 'device_expired' || e.code === 'unauthorized') {
        this.state = 'revoked';
        clearTimeout(this.timer);
        await a.onRevoked(e);
        return;
      }
      await this.#failed(e, gen);
    } finally {
      if (gen === this.gen) a.onSyncState();
    }
  }

  /** A failed run: retry later with backoff (jittered). */
  async #failed(e, gen) {
    const a = this.app;
    if (gen !== this.gen || !a.meta) return;
    this.failures += 1;
    const base = Math.min(MAX_BACKOFF, 5_000 * 2 ** (this.failures - 1));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    a.meta.lastError = { code: e.code || 'error', message: e.message, at: Date.now(), retryAt: Date.now() + delay };
    await a.saveMeta().catch(() => {});
    this.state = 'error';
    this.soon(delay);
  }

  /**
   * Reassigned: push what the server has not acknowledged (it still takes
   * this device's pushes), then wipe. Offline or failing, it stays as it is
   * and tries again later; revoked as lost meanwhile, it wipes at once.
   */
  async #handIn(gen, before) {
    const a = this.app;
    try {
      await this.#push();
    } catch (e) {
      if (gen !== this.gen) return;
      if (e.code === 'device_revoked') {
        this.stop();
        await a.onWipe('device_revoked');
        return;
      }
      // Refused for good (a rekey is a pull-side request the server no longer
      // answers): what remains cannot be handed in.
      if (e.code !== 'device_reassigned') throw e;
    }
    if (gen !== this.gen) return;
    const left = Math.max(0, a.store.ownSeq() - a.meta.ackedSeq);
    this.stop();
    await a.onWipe('device_reassigned', { handedIn: before - left, lost: left });
  }

  async #fetch(path, init = {}) {
    const { meta } = this.app;
    let r;
    try {
      r = await fetch(meta.server + path, {
        ...init,
        cache: 'no-store',
        headers: { authorization: `Bearer ${meta.token}`, ...(init.headers || {}) },
      });
    } catch {
      throw new SyncError('offline', navigator.onLine ? 'cannot reach the server' : 'no network');
    }
    if (!r.ok) {
      let body = {};
      try { body = await r.json(); } catch { /* not JSON */ }
      throw new SyncError(body.code || `http_${r.status}`, body.message || `the server answered ${r.status}`, r.status);
    }
    return r;
  }

  async #push() {
    const { meta } = this.app;
    // The stored log could not be read and this phone started over empty:
    // its old op ids must not be numbered again, so take a fresh replica id
    // first (the pull from 0 then brings back what the server has).
    if (meta.rekeyNeeded) {
      await this.#rekey([], 0);
      meta.rekeyNeeded = false;
      await this.app.saveMeta();
    }
    while (this.app.store.ownSeq() > meta.ackedSeq) {
      const { store } = this.app;
      const from = meta.ackedSeq;
      // Encoded and bounded in the same tick: an edit made while the request
      // is in flight gets a later sequence number and goes in the next batch.
      const bytes = store.opsAfterWire(from, PUSH_BATCH);
      const upTo = Math.min(store.ownSeq(), from + PUSH_BATCH);
      const r = await this.#fetch('/api/v1/sync/push', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      const body = await r.json();
      const reused = [];
      let stale = false;
      for (const res of body.results || []) {
        if (res.code === 'id_reused') reused.push(Number(String(res.op).split(':').pop()));
        else if (res.code === 'wrong_replica') stale = true;
        else if (res.result === 'rejected') {
          meta.rejected.push({ op: res.op, code: res.code, message: res.message, field: res.field || null, at: Date.now() });
        }
      }
      // This phone numbered edits with op ids the server already holds (it
      // was restored from an old copy), or a rekey was cut off before it was
      // saved here: take a fresh replica id and make those edits again.
      if (reused.length || stale) {
        await this.#rekey(reused, stale ? from : upTo);
        continue;
      }
      meta.ackedSeq = upTo;
      await this.app.saveMeta();
    }
  }

  /**
   * Asks the server for a new replica id and re-issues, under it, the own ops
   * it `refused` and those after `pushedUpTo` (sync-core's Replica::rekey);
   * then pushes everything of the new replica and pulls from the start,
   * which brings the server's versions of the old ids. Nothing typed is lost.
   */
  async #rekey(refused, pushedUpTo) {
    const a = this.app;
    const r = await this.#fetch('/api/v1/sync/rekey', { method: 'POST' });
    const { replica_id: replicaId } = await r.json();
    const next = a.store.rekey(replicaId, JSON.stringify(refused), pushedUpTo);
    const old = a.store;
    a.store = next;
    a.meta.replicaId = replicaId;
    a.meta.ackedSeq = 0;
    a.meta.cursor = 0;
    await a.saveAll();
    old.free();
    a.onRemoteChange();
  }

  async #pull() {
    const { store, meta } = this.app;
    if (meta.cursor === 0 && store.visitCount() === 0) await this.#bootstrap();
    for (;;) {
      // `mine`: how far this phone holds its own ops. A phone put back from an
      // old copy gets back what it had pushed since, and converges.
      const mine = store.ownSeq();
      const r = await this.#fetch(`/api/v1/sync/pull?after=${meta.cursor}&limit=${PULL_PAGE}&format=wire&mine=${mine}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      const cursor = Number(r.headers.get('x-aidant-cursor'));
      const more = r.headers.get('x-aidant-more') === 'true';
      const report = JSON.parse(store.applyWire(Date.now(), bytes));
      for (const [, w] of report.skew || []) this.app.onSkew(w.ahead_by_ms);
      const changed = (report.outcomes || []).some(([, o]) => o.result === 'accepted');
      if (Number.isFinite(cursor)) meta.cursor = cursor;
      // The merged replica and the cursor commit together: a crash in between
      // cannot skip ops (and re-applying a page is a no-op anyway).
      await this.app.saveChanges();
      if (changed) this.app.onRemoteChange();
      if (!more) break;
    }
  }

  /**
   * A new phone's first sync: the merged state of each visit it holds
   * (sync-core snapshots: gzipped, 213 B a visit on the peers benchmark
   * against 273 B for its history; on the demo week about the same as the
   * history; an overwritten edit costs a few bytes instead of its whole op),
   * then pulls from where the server's cursor stood at the first page. Only on a phone that holds nothing yet: a rekeyed phone pulls its
   * history again, to learn the server's versions of its old op ids. The
   * states and the cursor are saved together, whole (chunks carry ops
   * only); a crash before that starts the bootstrap again.
   */
  async #bootstrap() {
    const a = this.app;
    let after = '';
    let cursor = null;
    for (let pages = 0; pages < 10_000; pages++) {
      let r;
      try {
        r = await this.#fetch(`/api/v1/sync/snapshot?limit=${SNAPSHOT_PAGE}&after_visit=${after}`);
      } catch (e) {
        // A server from before snapshots: pull the history from 0 instead.
        if (e.status === 404 && cursor === null) return;
        throw e;
      }
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (cursor === null) cursor = Number(r.headers.get('x-aidant-cursor'));
      const report = JSON.parse(a.store.adoptSnapshot(Date.now(), bytes));
      if (report.skew) a.onSkew(report.skew.ahead_by_ms);
      after = r.headers.get('x-aidant-next');
      if (!after) break;
    }
    if (!Number.isFinite(cursor)) return;
    a.meta.cursor = cursor;
    await a.saveAll();
    a.onRemoteChange();
  }

  /**
   * Retention: forgets the synced visits whose day plus their operation's
   * retention period (set by an admin, default 7 days) has passed. The
   * server keeps them; sync-core decides which (never one with unsynced
   * changes) and keeps numbering this phone's ops from where it was.
   */
  async #forgetExpired() {
    const a = this.app;
    const retention = Object.fromEntries((a.meta.operations || []).map((o) => [o.id, o.retention_days ?? 7]));
    const n = a.store.forgetExpired(Date.now(), JSON.stringify(retention), a.meta.ackedSeq);
    if (n > 0) {
      await a.saveAll();
      a.onRemoteChange();
    }
  }

  async #refresh() {
    const { meta } = this.app;
    const r = await this.#fetch('/api/v1/operations');
    const ops = await r.json();
    const changed = JSON.stringify(ops) !== JSON.stringify(meta.operations);
    meta.operations = ops;
    if (changed) this.app.onRemoteChange();
  }
}
