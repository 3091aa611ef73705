// Human labels for sync-core's vocabulary identifiers. The lists themselves
// come from the wasm module (vocabularyJson / indicatorsFor), so an identifier
// missing here still shows, as plain words.

const L = {
  hotel: 'Hotel', car_wash: 'Car wash', nail_bar: 'Nail bar', vehicle_stop: 'Vehicle stop',
  massage_parlour: 'Massage parlour', residential_brothel: 'Residential brothel',
  agriculture: 'Agriculture / farm', construction: 'Construction site', takeaway: 'Takeaway / restaurant',
  factory_warehouse: 'Factory / warehouse', care_home: 'Care home', transport_hub: 'Transport hub',
  port_airport: 'Port / airport', other: 'Other',
  welfare_engagement: 'Welfare engagement', spot_check: 'Spot check', warrant: 'Warrant', road_check: 'Road check',
  nca: 'NCA', europol: 'Europol', border_force: 'Border Force', immigration_enforcement: 'Immigration Enforcement',
  btp: 'British Transport Police', hmrc: 'HMRC', dwp: 'DWP', glaa: 'GLAA', hse: 'HSE',
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
};

/** The label of an identifier. */
export function label(id) {
  if (id in L) return L[id];
  const words = String(id).replace(/^(cw|nb|ht|vs|cl)_/, '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
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
