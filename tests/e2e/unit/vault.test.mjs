// Unit tests of the field app's vault (client-wasm/www/vault.js) under Node's
// WebCrypto: key derivation, wrapping, the encryption round trip, a wrong PIN,
// a wrong recovery code, tampered records, and the PIN rules. No browser.
// Run: node --test tests/e2e/unit/ (scripts/e2e.sh runs it before the browser tests).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as vault from '../../../client-wasm/www/vault.js';

const FAST = { iterations: 1_000 }; // the real count is checked once below
const PIN = '270419';
const RECOVERY = 'ACDE-FGHJ-KMNP-QRTU-VWXY';

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof vault.VaultError, `not a VaultError: ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('key derivation: PBKDF2-SHA-256 at 600,000 iterations by default, salted, deterministic', async () => {
  assert.equal(vault.PBKDF2_ITERATIONS, 600_000);
  const salt = new Uint8Array(16).fill(7);
  const t = performance.now();
  const k1 = await vault.deriveWrappingKey(PIN, salt);
  const ms = performance.now() - t;
  console.log(`PBKDF2-SHA-256 600k under Node: ${ms.toFixed(0)} ms`);
  assert.equal(k1.extractable, false);
  assert.deepEqual(k1.usages.sort(), ['unwrapKey', 'wrapKey']);
  // Same PIN and salt: the same key (it unwraps what the other wrapped);
  // another salt: another key.
  const data = await vault.newDataKey();
  const iv = new Uint8Array(12);
  const wrapped = await crypto.subtle.wrapKey('raw', data, k1, { name: 'AES-GCM', iv });
  const k2 = await vault.deriveWrappingKey(PIN, salt);
  await crypto.subtle.unwrapKey('raw', wrapped, k2, { name: 'AES-GCM', iv }, 'AES-GCM', false, ['decrypt']);
  const k3 = await vault.deriveWrappingKey(PIN, new Uint8Array(16).fill(8));
  await assert.rejects(crypto.subtle.unwrapKey('raw', wrapped, k3, { name: 'AES-GCM', iv }, 'AES-GCM', false, ['decrypt']));
  // The lockbox records its count: a default vault uses 600k.
  const { lockbox } = await vault.createVault(PIN, RECOVERY);
  assert.equal(lockbox.pin.iterations, 600_000);
  assert.equal(lockbox.recovery.iterations, 600_000);
});

test('a new vault: a non-extractable data key, wrapped under the PIN and the recovery code, defaults recorded', async () => {
  const { key, lockbox } = await vault.createVault(PIN, RECOVERY, FAST);
  assert.equal(key.extractable, false);
  assert.equal(key.algorithm.name, 'AES-GCM');
  assert.equal(key.algorithm.length, 256);
  assert.equal(lockbox.failures, 0);
  assert.equal(lockbox.lockedOut, false);
  assert.equal(lockbox.maxFailures, 10);
  assert.equal(lockbox.idleMs, 300_000);
  assert.equal(lockbox.backgroundMs, 30_000);
  for (const w of [lockbox.pin, lockbox.recovery]) {
    assert.equal(w.salt.length, 16);
    assert.equal(w.iv.length, 12);
    assert.equal(w.wrapped.length, 32 + 16, 'a raw 256-bit key and a GCM tag');
  }
  assert.notDeepEqual(lockbox.pin.salt, lockbox.recovery.salt);
  // The lockbox survives IndexedDB's structured clone as plain data.
  assert.deepEqual(structuredClone(lockbox), lockbox);
  // Neither the PIN nor the recovery code is in it.
  const flat = JSON.stringify(lockbox, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
  assert.ok(!flat.includes(PIN) && !flat.includes(vault.normaliseRecovery(RECOVERY)));
});

test('encrypt/decrypt round trip with the key the PIN unwraps; records are bound to their names', async () => {
  const { key, lockbox } = await vault.createVault(PIN, RECOVERY, FAST);
  const bytes = new TextEncoder().encode('Person: Zyxquorth Vellanbrigg, room 12');
  const sealed = await vault.encrypt(key, bytes, 'replica');
  assert.ok(vault.isSealed(sealed));
  assert.ok(!Buffer.from(sealed.ct).includes(Buffer.from('Zyxquorth')));
  const again = await vault.unlockWithPin(lockbox, PIN);
  assert.equal(again.extractable, false);
  assert.deepEqual(await vault.decrypt(again, sealed, 'replica'), bytes);
  // A fresh IV each time: the same bytes never give the same record.
  const twice = await vault.encrypt(key, bytes, 'replica');
  assert.notDeepEqual(twice.iv, sealed.iv);
  // The meta record as JSON.
  const meta = { token: 'secret-token', cursor: 42, rejected: [] };
  assert.deepEqual(await vault.decryptJson(again, await vault.encryptJson(key, meta, 'meta'), 'meta'), meta);
  // A replica record read as the meta record fails.
  await rejectsWith(vault.decrypt(key, sealed, 'meta'), 'tampered');
});

test('a wrong PIN fails the unwrap; so does an altered wrap', async () => {
  const { lockbox } = await vault.createVault(PIN, RECOVERY, FAST);
  await rejectsWith(vault.unlockWithPin(lockbox, '270418'), 'wrong_secret');
  await rejectsWith(vault.unlockWithPin(lockbox, ''), 'wrong_secret');
  const altered = structuredClone(lockbox);
  altered.pin.wrapped[3] ^= 1;
  await rejectsWith(vault.unlockWithPin(altered, PIN), 'wrong_secret');
  // The PIN wrap cannot be opened as the recovery wrap (kinds are authenticated).
  const swapped = { ...structuredClone(lockbox), recovery: lockbox.pin };
  await rejectsWith(vault.checkRecovery(swapped, PIN), 'wrong_secret');
});

test('a tampered or foreign ciphertext fails to decrypt', async () => {
  const { key } = await vault.createVault(PIN, RECOVERY, FAST);
  const sealed = await vault.encrypt(key, new Uint8Array([1, 2, 3, 4, 5]), 'replica');
  for (const change of [
    (s) => { s.ct[0] ^= 0x80; },
    (s) => { s.ct[s.ct.length - 1] ^= 1; }, // the tag
    (s) => { s.iv[0] ^= 1; },
    (s) => { s.ct = s.ct.slice(0, -1); },
  ]) {
    const t = structuredClone(sealed);
    change(t);
    await rejectsWith(vault.decrypt(key, t, 'replica'), 'tampered');
  }
  const other = await vault.createVault('835172', RECOVERY, FAST);
  await rejectsWith(vault.decrypt(other.key, sealed, 'replica'), 'tampered');
  await rejectsWith(vault.decrypt(key, { clear: 'old record' }, 'replica'), 'tampered');
});

test('recovery: the code opens the same data key and sets a new PIN; the old PIN and wrong codes fail', async () => {
  const { key, lockbox } = await vault.createVault(PIN, RECOVERY, FAST);
  const sealed = await vault.encrypt(key, new TextEncoder().encode('unsynced visit'), 'replica');
  await rejectsWith(vault.checkRecovery(lockbox, 'ACDE-FGHJ-KMNP-QRTU-VWXA'), 'wrong_secret');
  await rejectsWith(vault.recoverWithCode(lockbox, 'ACDE-FGHJ-KMNP-QRTU-VWXA', '835172'), 'wrong_secret');
  await rejectsWith(vault.recoverWithCode(lockbox, RECOVERY, '123456'), 'bad_pin');
  // Typed loosely: lower case, spaces instead of dashes.
  await vault.checkRecovery(lockbox, ' acde fghj kmnp qrtu vwxy ');
  const { key: k2, pin } = await vault.recoverWithCode(lockbox, 'acde-fghj kmnp-qrtu-vwxy', '835172');
  assert.equal(k2.extractable, false);
  assert.equal(new TextDecoder().decode(await vault.decrypt(k2, sealed, 'replica')), 'unsynced visit');
  const next = { ...lockbox, pin };
  const k3 = await vault.unlockWithPin(next, '835172');
  assert.equal(new TextDecoder().decode(await vault.decrypt(k3, sealed, 'replica')), 'unsynced visit');
  await rejectsWith(vault.unlockWithPin(next, PIN), 'wrong_secret');
  // Without a recovery code from the server there is no recovery wrap.
  const bare = await vault.createVault(PIN, null, FAST);
  assert.equal(bare.lockbox.recovery, null);
  await rejectsWith(vault.recoverWithCode(bare.lockbox, RECOVERY, '835172'), 'no_recovery');
});

test('PIN rules: at least 6 digits, no repeated digit, no runs, no short repeated pattern', async () => {
  const refused = ['', '12345', '11111', '111111', '000000000', '123456', '654321', '234567', '890123', '3210987',
    '121212', '123123', '909090', '12ab56', '27 0419', '1234567890123'];
  for (const p of refused) assert.ok(vault.pinProblem(p), `accepted ${JSON.stringify(p)}`);
  for (const p of ['270419', '835172', '11223344', '120485', '0000001', '975312468']) {
    assert.equal(vault.pinProblem(p), null, `refused ${p}`);
  }
  await rejectsWith(vault.createVault('111111', RECOVERY, FAST), 'bad_pin');
});
