// Small helpers of the field app's screens: dates and sync-core's
// JSON values (T targets, V values) made. Elements, labels and values shown
// as text are in common.js, shared with the admin pages.

export const $ = (sel) => document.querySelector(sel);
// Made once: a formatter costs far more to make than to use.
const LONDON_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
export const londonDate = (ms) => LONDON_DATE.format(new Date(ms));

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
