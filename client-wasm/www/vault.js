// The phone's vault: the keys that lock what the field app keeps in
// IndexedDB. Plain WebCrypto, so the same module runs in the browser and in
// Node 20 (its unit tests: tests/e2e/unit/vault.test.mjs).
//
// A random AES-GCM-256 *data key* encrypts every record the app stores (the
// replica's saved bytes and the meta record). It is never stored in clear: the
// *lockbox* (the one record kept in clear) holds it wrapped twice,
//   - under a key derived from the officer's PIN, and
//   - under a key derived from the device's recovery code (given by the
//     server at enrolment, then forgotten by the phone; an admin can read it
//     out to unlock a phone locked out by wrong PINs),
// with AES-GCM (so a wrong PIN fails the unwrap's authentication tag rather
// than yielding a wrong key). After an unlock the data key lives only in
// memory, as a non-extractable CryptoKey.
//
// Key derivation: PBKDF2-HMAC-SHA-256, 600,000 iterations (OWASP's 2023 figure
// for PBKDF2-SHA-256), 16-byte random salt. Why PBKDF2 and not Argon2id: it is
// built into WebCrypto in every browser, so there is no wasm Argon2 to ship,
// audit and keep constant-time, and it runs at native speed (about 0.1–0.2 s
// in headless Chromium on the test machine; a few times that on a mid-range
// phone). Its weakness, which no KDF fixes for a 6-digit PIN: PBKDF2 is cheap
// on GPUs (no memory hardness), and a PIN has little entropy. Whoever copies
// the browser profile off the phone can try all 1,000,000 six-digit PINs
// offline, where the wrong-PIN counter does not exist: roughly a day and a
// half on one CPU core, about a minute on one high-end GPU. Longer PINs help
// (each extra digit ×10). The lock protects a lost phone against someone
// tapping at its screen, not against a forensic copy and time.

const subtle = () => globalThis.crypto.subtle;
const te = new TextEncoder();
const td = new TextDecoder();

/** PBKDF2-SHA-256 iterations for new lockboxes (the lockbox records its own). */
export const PBKDF2_ITERATIONS = 600_000;
export const MIN_PIN_LENGTH = 6;
export const MAX_PIN_LENGTH = 12;

/** Lock settings a new lockbox starts with (the officer can change them). */
export const DEFAULTS = Object.freeze({
  idleMs: 5 * 60_000, // lock after 5 minutes without a touch or key press
  backgroundMs: 30_000, // lock 30 s after the app goes to the background
  maxFailures: 10, // wrong PINs before the data is wiped (or locked out)
});

/** A failure of the vault, with a stable code: `wrong_secret`, `tampered`, `bad_pin`, `no_recovery`. */
export class VaultError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Why a PIN is refused (a sentence), or null when it is acceptable: digits
 * only, 6 to 12 of them, not one digit repeated (111111), not a run up or
 * down (123456, 654321, 890123), not a short block repeated (121212, 123123).
 */
export function pinProblem(pin) {
  const p = String(pin ?? '');
  if (!/^[0-9]*$/.test(p)) return 'Use digits only.';
  if (p.length < MIN_PIN_LENGTH) return `Use at least ${MIN_PIN_LENGTH} digits.`;
  if (p.length > MAX_PIN_LENGTH) return `Use at most ${MAX_PIN_LENGTH} digits.`;
  const d = [...p].map(Number);
  const steps = new Set(d.slice(1).map((x, i) => (x - d[i] + 10) % 10));
  if (steps.size === 1) {
    const [s] = steps;
    if (s === 0) return 'Do not repeat one digit (like 111111).';
    if (s === 1 || s === 9) return 'Do not use a run of digits (like 123456 or 654321).';
  }
  for (let period = 2; period <= 3; period++) {
    if (p.length % period === 0 && p === p.slice(0, period).repeat(p.length / period)) {
      return 'Do not repeat a short pattern (like 121212 or 123123).';
    }
  }
  return null;
}

/** A recovery code as typed ("abcd efgh-…") → the form it is derived from. */
export function normaliseRecovery(code) {
  return String(code ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** A key-encryption key from a secret (PIN or normalised recovery code). */
export async function deriveWrappingKey(secret, salt, iterations = PBKDF2_ITERATIONS) {
  const base = await subtle().importKey('raw', te.encode(secret), 'PBKDF2', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'PBKDF2', salt, iterations, hash: 'SHA-256' },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['wrapKey', 'unwrapKey'],
  );
}

/** A new random data key. Extractable, so it can be wrapped; keep it no longer than that takes. */
export function newDataKey() {
  return subtle().generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

function random(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** Which wrap this is goes into the authenticated data, so the two cannot be swapped. */
const wrapAad = (kind) => te.encode(`aidant:data-key:${kind}:v1`);

/**
 * The data key wrapped under `secret` (kind `pin` or `recovery`):
 * `{ salt, iterations, iv, wrapped }`, all plain bytes and numbers.
 */
export async function makeWrap(kind, secret, dataKey, iterations = PBKDF2_ITERATIONS) {
  const salt = random(16);
  const iv = random(12);
  const kek = await deriveWrappingKey(secret, salt, iterations);
  const wrapped = new Uint8Array(await subtle().wrapKey('raw', dataKey, kek, { name: 'AES-GCM', iv, additionalData: wrapAad(kind) }));
  return { salt, iterations, iv, wrapped };
}

/**
 * The data key out of a wrap made by `makeWrap`. Throws VaultError
 * `wrong_secret` when the secret is wrong (or the wrap was altered).
 * `extractable` only to wrap it again (a new PIN after a recovery).
 */
export async function openWrap(kind, wrap, secret, { extractable = false } = {}) {
  const kek = await deriveWrappingKey(secret, wrap.salt, wrap.iterations);
  try {
    return await subtle().unwrapKey('raw', wrap.wrapped, kek, { name: 'AES-GCM', iv: wrap.iv, additionalData: wrapAad(kind) },
      { name: 'AES-GCM', length: 256 }, extractable, ['encrypt', 'decrypt']);
  } catch {
    throw new VaultError('wrong_secret', kind === 'pin' ? 'Wrong PIN.' : 'Wrong recovery code.');
  }
}

/**
 * A new lockbox for a PIN and (when the server gave one) a recovery code.
 * Resolves to `{ lockbox, key }`: `key` is the data key, non-extractable.
 */
export async function createVault(pin, recoverySecret, { iterations = PBKDF2_ITERATIONS, settings = {} } = {}) {
  const problem = pinProblem(pin);
  if (problem) throw new VaultError('bad_pin', problem);
  const raw = await newDataKey();
  const recovery = recoverySecret ? normaliseRecovery(recoverySecret) : '';
  const [pinWrap, recoveryWrap] = await Promise.all([
    makeWrap('pin', pin, raw, iterations),
    recovery ? makeWrap('recovery', recovery, raw, iterations) : null,
  ]);
  const key = await nonExtractable(raw);
  return {
    key,
    lockbox: {
      v: 1,
      pin: pinWrap,
      recovery: recoveryWrap,
      failures: 0,
      lockedOut: false,
      unsynced: 0,
      ...DEFAULTS,
      ...settings,
    },
  };
}

/** A non-extractable copy of an extractable AES key (the only copy to keep). */
async function nonExtractable(raw) {
  const bytes = new Uint8Array(await subtle().exportKey('raw', raw));
  try {
    return await subtle().importKey('raw', bytes, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  } finally {
    bytes.fill(0);
  }
}

/** The data key from the PIN. Throws VaultError `wrong_secret`. */
export function unlockWithPin(lockbox, pin) {
  return openWrap('pin', lockbox.pin, String(pin));
}

/**
 * The data key from the recovery code, and a new PIN set in the same step.
 * Resolves to `{ key, pin }` where `pin` is the new PIN wrap for the
 * lockbox. Throws VaultError `wrong_secret`, `bad_pin` or `no_recovery`.
 */
export async function recoverWithCode(lockbox, code, newPin) {
  if (!lockbox.recovery) throw new VaultError('no_recovery', 'This phone has no recovery code (it was enrolled before they existed).');
  const problem = pinProblem(newPin);
  if (problem) throw new VaultError('bad_pin', problem);
  const raw = await openWrap('recovery', lockbox.recovery, normaliseRecovery(code), { extractable: true });
  const pin = await makeWrap('pin', newPin, raw, lockbox.pin?.iterations || PBKDF2_ITERATIONS);
  return { key: await nonExtractable(raw), pin };
}

/** Checks a recovery code without changing anything (to ask for the new PIN only after a right code). */
export async function checkRecovery(lockbox, code) {
  if (!lockbox.recovery) throw new VaultError('no_recovery', 'This phone has no recovery code (it was enrolled before they existed).');
  await openWrap('recovery', lockbox.recovery, normaliseRecovery(code));
}

/**
 * Encrypts bytes under the data key; `name` (the record's key) is
 * authenticated with them, so records cannot be swapped. A fresh random
 * 96-bit IV per write: at a few thousand writes a day, far below the 2^32
 * writes where random IVs under one key start to risk a collision.
 */
export async function encrypt(key, bytes, name) {
  const iv = random(12);
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: te.encode(`aidant:${name}:v1`) }, key, bytes));
  return { v: 1, iv, ct };
}

/** Decrypts a record made by `encrypt`. Throws VaultError `tampered` when it was altered (or the key is wrong). */
export async function decrypt(key, sealed, name) {
  if (!sealed || sealed.v !== 1 || !sealed.iv || !sealed.ct) throw new VaultError('tampered', `the stored ${name} is not an encrypted record`);
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: sealed.iv, additionalData: te.encode(`aidant:${name}:v1`) }, key, sealed.ct));
  } catch {
    throw new VaultError('tampered', `the stored ${name} cannot be decrypted: it was altered, or belongs to another key`);
  }
}

export async function encryptJson(key, value, name) {
  return encrypt(key, te.encode(JSON.stringify(value)), name);
}

export async function decryptJson(key, sealed, name) {
  return JSON.parse(td.decode(await decrypt(key, sealed, name)));
}

/** True when a stored value is one `encrypt` made (and not, say, an old clear record). */
export function isSealed(v) {
  return !!v && typeof v === 'object' && v.v === 1 && v.iv instanceof Uint8Array && v.ct instanceof Uint8Array;
}
