// Small helpers of the field app's screens: building elements, toasts,
// times, and sync-core's JSON values (T targets, V values) shown and made.

import { label } from './labels.js';

/** Creates an element: h('div', {class: 'x', onclick: f}, child, …). */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const $ = (sel) => document.querySelector(sel);
// Made once: a formatter costs far more to make than to use (the home
// screen formats two dates per visit).
const HHMM = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const LONDON_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
export const hhmm = (ms) => HHMM.format(new Date(ms));
export const londonDate = (ms) => LONDON_DATE.format(new Date(ms));

export function toast(text, kind = 'info') {
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  $('#toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8_000 : 3_000);
}


export const T = {
  visit: (f) => JSON.stringify({ visit: f }),
  person: (p, f) => JSON.stringify({ person: [p, f] }),
  arrests: (o) => JSON.stringify({ arrests: o }),
};
export const V = {
  text: (s) => JSON.stringify(s === '' ? 'empty' : { text: s }),
  int: (n) => JSON.stringify(n === '' || n === null ? 'empty' : { int: Number(n) }),
  bool: (b) => JSON.stringify(b === null ? 'empty' : { bool: b }),
  time: (ms) => JSON.stringify({ time: ms }),
};

/** The plain value of a sync-core Value (`{"text": "x"}` → "x"). */
export function plain(v) {
  if (!v || v === 'empty') return null;
  const [k] = Object.keys(v);
  return v[k];
}

export function showValue(v) {
  if (!v || v === 'empty') return '(cleared)';
  if ('bool' in v) return v.bool ? 'Yes' : 'No';
  if ('time' in v) return hhmm(v.time);
  if ('position' in v) return fmtPosition(v.position);
  if ('text' in v) return label(v.text) === v.text ? v.text : label(v.text);
  return String(plain(v));
}

export function fmtPosition(p) {
  const lat = p.lat_e7 / 1e7;
  const lon = p.lon_e7 / 1e7;
  return `${Math.abs(lat).toFixed(5)}°${lat >= 0 ? 'N' : 'S'} ${Math.abs(lon).toFixed(5)}°${lon >= 0 ? 'E' : 'W'} (±${p.accuracy_m} m)`;
}
