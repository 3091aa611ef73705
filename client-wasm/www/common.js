// What the field app and the admin pages share (both import this file; the
// admin pages as /common.js, the service worker caches it with the shell):
// building elements, the human labels of sync-core's vocabulary identifiers,
// and sync-core's JSON values shown as text, so both apps word things alike.
// The lists themselves come from the wasm module (vocabularyJson /
// indicatorsFor) or the server, so an identifier missing here still shows,
// as plain words. Full names where there is room (../shared/domain names the
// agencies); Yes / No, capitalised, everywhere.

// ------------------------------------------------------------------ elements

/**
 * Creates an element: h('div', {class: 'x', onclick: f}, child, …). String
 * children become text nodes (never parsed as markup). `value` and
 * `checked`, and non-string values of other properties (`disabled: true`,
 * `rows: 3`), are set as properties; the rest as attributes.
 */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || (k in el && typeof v !== 'string')) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  return append(el, kids);
}

/** Replaces an element's children (arrays flattened, nulls skipped). */
export function fill(el, ...kids) {
  el.replaceChildren();
  return append(el, kids);
}

function append(el, kids) {
  for (const c of kids.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A message at the foot of the page (#toasts) for a few seconds; `error` stays longer and is announced at once. */
export function toast(text, kind = 'info') {
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8_000 : 4_000);
}

// -------------------------------------------------------------------- labels

const L = {
  hotel: 'Hotel', car_wash: 'Car wash', nail_bar: 'Nail bar', vehicle_stop: 'Vehicle stop',
  massage_parlour: 'Massage parlour', residential_brothel: 'Residential brothel',
  agriculture: 'Agriculture / farm', construction: 'Construction site', takeaway: 'Takeaway / restaurant',
  factory_warehouse: 'Factory / warehouse', care_home: 'Care home', transport_hub: 'Transport hub',
  port_airport: 'Port / airport', other: 'Other',
  welfare_engagement: 'Welfare engagement', spot_check: 'Spot check', warrant: 'Warrant', road_check: 'Road check',
  nca: 'NCA', europol: 'Europol', border_force: 'Border Force', immigration_enforcement: 'Immigration Enforcement',
  btp: 'British Transport Police', hmrc: 'HMRC', dwp: 'DWP', glaa: 'Gangmasters and Labour Abuse Authority', hse: 'HSE',
  local_authority: 'Local authority', fire_rescue: 'Fire & rescue', environment_agency: 'Environment Agency',
  dvsa: 'DVSA', rocu: 'ROCU', vru: 'Violence Reduction Unit', ngo: 'NGO',
  adult: 'Adult', child: 'Child (under 18)', unknown: 'Unknown',
  male: 'Male', female: 'Female', other_or_not_stated: 'Other / not stated',
  worker: 'Worker', manager_or_owner: 'Manager / owner', guest: 'Guest', customer: 'Customer',
  driver: 'Driver', passenger: 'Passenger', resident: 'Resident',
  labour: 'Labour', sexual: 'Sexual', criminal: 'Criminal', domestic_servitude: 'Domestic servitude',
  organ_harvesting: 'Organ harvesting',
  given: 'Consent given', declined: 'Declined', not_asked: 'Not asked yet',
  rta_s163: 'RTA 1988 s163 (stop)', pace_s1: 'PACE s1 (search)', misuse_of_drugs_s23: 'Misuse of Drugs Act s23',
  immigration_act: 'Immigration Act',
  nrm_referral: 'NRM referral', duty_to_notify: 'Duty to Notify (MS1)',
  salvation_army_referral: 'Salvation Army referral', childrens_services_referral: "Children's services referral",
  police_protection_s46: 'Police protection (s46)', place_of_safety: 'Place of safety',
  interpreter_used: 'Interpreter used', helpline_information_given: 'Helpline info given (08000 121 700)',
  welfare_check: 'Welfare check', signposted_to_support: 'Signposted to support', ngo_support: 'NGO support',
  adult_safeguarding_referral: 'Adult safeguarding referral',
  modern_slavery: 'Modern slavery', human_trafficking: 'Human trafficking',
  controlling_prostitution: 'Controlling prostitution', drug_supply: 'Drug supply', drug_possession: 'Drug possession',
  immigration: 'Immigration', illegal_working: 'Illegal working', money_laundering: 'Money laundering',
  weapon: 'Weapon', theft: 'Theft', driving: 'Driving',
  draft: 'Draft', submitted: 'Submitted', reviewed: 'Reviewed', returned: 'Returned for correction',
  cw_many_workers_per_car_low_price: 'Many workers per car, low price',
  ht_young_person_with_older_adult: 'Young person with older adult',
  vs_young_person_with_unrelated_adults: 'Young person with unrelated adults',
  withdrawn_fearful_anxious: 'Withdrawn, fearful or anxious',
  // Field names and other identifiers the admin pages show.
  nrm: 'NRM', vrm: 'VRM',
};

/** The label of an identifier. */
/**
 * A new id for a visit or a person: a UUID of version 7 (RFC 9562), 48 bits
 * of milliseconds since 1970 and then 74 random bits. Ids made later sort
 * later, so the server's indexes keyed by them (a visit's ops, its rows)
 * grow at one end instead of at a random page for every new visit.
 */
export function newId(now = Date.now()) {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function label(id) {
  if (Object.hasOwn(L, id)) return L[id];
  const words = String(id).replace(/^(cw|nb|ht|vs|cl)_/, '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A yes/no choice's buttons, as `choice` in widgets.js takes them. */
export const YES_NO = [[true, 'Yes'], [false, 'No']];

// Made once: a formatter costs far more to make than to use (the home
// screen formats two dates per visit).
const HHMM = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
export const hhmm = (ms) => HHMM.format(new Date(ms));

/** The plain value of a sync-core Value (`{"text": "x"}` → "x"). */
export function plain(v) {
  if (!v || v === 'empty') return null;
  const [k] = Object.keys(v);
  return v[k];
}

/**
 * A sync-core Value (JSON) as text: a vocabulary identifier by its label,
 * other text as typed, times by `time` (HH:MM unless given).
 */
export function showValue(v, time = hhmm) {
  if (!v || v === 'empty') return '(cleared)';
  if ('bool' in v) return v.bool ? 'Yes' : 'No';
  if ('time' in v) return time(v.time);
  if ('position' in v) return fmtPosition(v.position);
  if ('text' in v) return Object.hasOwn(L, v.text) ? L[v.text] : v.text;
  const p = plain(v);
  return typeof p === 'object' ? JSON.stringify(p) : String(p);
}

export function fmtPosition(p) {
  const lat = p.lat_e7 / 1e7;
  const lon = p.lon_e7 / 1e7;
  return `${Math.abs(lat).toFixed(5)}°${lat >= 0 ? 'N' : 'S'} ${Math.abs(lon).toFixed(5)}°${lon >= 0 ? 'E' : 'W'} (±${p.accuracy_m} m)`;
}

/** Indicator groups for headings (general ones by prefix). */
export function indicatorGroup(id) {
  const p = id.slice(0, 3);
  return { 'cw_': 'Car wash', 'nb_': 'Nail bar', 'ht_': 'Hotel', 'vs_': 'Vehicle stop', 'cl_': 'County lines' }[p] || 'General signs';
}

/** Nationalities offered first (most seen in NRM referrals), ISO 3166 alpha-2. */
export const NATIONALITIES = [
  ['GB', 'British'], ['AL', 'Albanian'], ['VN', 'Vietnamese'], ['SD', 'Sudanese'], ['ER', 'Eritrean'],
  ['RO', 'Romanian'], ['IN', 'Indian'], ['CN', 'Chinese'], ['PL', 'Polish'], ['IR', 'Iranian'],
  ['IQ', 'Iraqi'], ['AF', 'Afghan'], ['NG', 'Nigerian'], ['PK', 'Pakistani'], ['BG', 'Bulgarian'],
  ['LT', 'Lithuanian'], ['UA', 'Ukrainian'], ['TH', 'Thai'], ['PH', 'Filipino'], ['BR', 'Brazilian'],
];
