// Unit tests of the module the field app and the admin pages share
// (client-wasm/www/common.js): one wording for both. No browser: these
// functions build no element.
// Run: node --test tests/e2e/unit/ (scripts/e2e.sh runs it before the browser tests).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { label, newId, showValue, YES_NO } from '../../../client-wasm/www/common.js';

test('agencies by their full names where the domain gives one', () => {
  assert.equal(label('btp'), 'British Transport Police');
  assert.equal(label('vru'), 'Violence Reduction Unit');
  assert.equal(label('glaa'), 'Gangmasters and Labour Abuse Authority');
  assert.equal(label('nca'), 'NCA');
});

test('yes and no are worded alike in values and in choices', () => {
  assert.equal(showValue({ bool: true }), 'Yes');
  assert.equal(showValue({ bool: false }), 'No');
  assert.deepEqual(YES_NO.map(([, l]) => l), ['Yes', 'No']);
});

test('a vocabulary identifier shows by its label, other text as typed', () => {
  assert.equal(showValue({ text: 'car_wash' }), 'Car wash');
  assert.equal(showValue({ text: 'john smith' }), 'john smith');
  // Names of Object.prototype are not labels.
  assert.equal(showValue({ text: 'toString' }), 'toString');
  assert.equal(label('constructor'), 'Constructor');
  assert.equal(label('some_new_kind'), 'Some new kind');
});

test('times by the formatter given, other values as text', () => {
  assert.equal(showValue({ time: 0 }, () => 'T'), 'T');
  assert.equal(showValue({ int: 3 }), '3');
  assert.equal(showValue('empty'), '(cleared)');
  assert.equal(showValue({ position: { lat_e7: 515_000_000, lon_e7: -1_250_000, accuracy_m: 8 } }), '51.50000°N 0.12500°W (±8 m)');
});

test('ids are UUIDs of version 7: the time first, so later ones sort later', () => {
  const at = Date.UTC(2026, 11, 2, 7, 30);
  const id = newId(at);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
  const ids = [at, at + 1, at + 1000, at + 86_400_000].map((t) => newId(t));
  assert.deepEqual([...ids].sort(), ids);
  // The rest is random: two made in the same millisecond differ.
  assert.notEqual(newId(at), newId(at));
  // Made now by default.
  const ms = parseInt(newId().replace(/-/g, '').slice(0, 12), 16);
  assert.ok(Math.abs(ms - Date.now()) < 60_000);
});
