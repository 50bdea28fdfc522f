/**
 * The subscriber attribute catalogue: the one place that says which attributes a profile has, their
 * type and range. The profile store's columns, the rule validator, both rule compilers and the
 * `subscribers` table (migration 100, checked by a test) are all derived from it.
 */

export const ATTRIBUTE_TYPES = ['int', 'decimal', 'enum', 'bool', 'set', 'timestamp'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export const ATTRIBUTE_GROUPS = [
  'demographics',
  'geography',
  'telecom',
  'device',
  'interests',
  'behaviour',
] as const;
export type AttributeGroup = (typeof ATTRIBUTE_GROUPS)[number];

interface AttributeBase {
  /** snake_case; also the column name in the `subscribers` table. */
  name: string;
  group: AttributeGroup;
  description: string;
}

export interface IntAttribute extends AttributeBase {
  type: 'int';
  min: number;
  max: number;
}

export interface DecimalAttribute extends AttributeBase {
  type: 'decimal';
  min: number;
  max: number;
  /** Values are kept to 1/scale (scale 100 = two decimals); rule values are rounded the same way. */
  scale: number;
}

export interface EnumAttribute extends AttributeBase {
  type: 'enum';
  values: readonly string[];
}

export interface BoolAttribute extends AttributeBase {
  type: 'bool';
}

export interface SetAttribute extends AttributeBase {
  type: 'set';
  /** At most 32 members (one Uint32 bitset per subscriber). */
  values: readonly string[];
}

export interface TimestampAttribute extends AttributeBase {
  /** Kept as a UTC day number (days since 1970-01-01), so rules work in whole days. */
  type: 'timestamp';
}

export type Attribute =
  | IntAttribute
  | DecimalAttribute
  | EnumAttribute
  | BoolAttribute
  | SetAttribute
  | TimestampAttribute;

export const INTERESTS = [
  'sports',
  'fitness',
  'travel',
  'fashion',
  'beauty',
  'electronics',
  'gaming',
  'auto',
  'pets',
  'kids',
  'home_garden',
  'food_delivery',
  'restaurants',
  'coffee',
  'books',
  'music',
  'movies',
  'finance',
  'education',
  'health',
] as const;

export const REGIONS = [
  'capital',
  'north',
  'south',
  'east',
  'west',
  'central',
  'coast',
  'mountains',
] as const;

export const CITIES = [
  'capital_city',
  'north_port',
  'north_hills',
  'south_bay',
  'south_plains',
  'east_river',
  'east_forge',
  'west_gate',
  'west_fields',
  'central_junction',
  'central_lakes',
  'coast_haven',
  'coast_sands',
  'mountain_pass',
  'mountain_springs',
  'other',
] as const;

const int = (name: string, group: AttributeGroup, min: number, max: number, description: string) =>
  ({ name, group, type: 'int', min, max, description }) as const satisfies IntAttribute;
const dec = (
  name: string,
  group: AttributeGroup,
  min: number,
  max: number,
  scale: number,
  description: string,
) => ({ name, group, type: 'decimal', min, max, scale, description }) as const satisfies DecimalAttribute;
const enm = (name: string, group: AttributeGroup, values: readonly string[], description: string) =>
  ({ name, group, type: 'enum', values, description }) as const satisfies EnumAttribute;
const bool = (name: string, group: AttributeGroup, description: string) =>
  ({ name, group, type: 'bool', description }) as const satisfies BoolAttribute;
const ts = (name: string, group: AttributeGroup, description: string) =>
  ({ name, group, type: 'timestamp', description }) as const satisfies TimestampAttribute;

/** The full catalogue (41 attributes). Append only: the `subscribers` table follows it by migration. */
export const ATTRIBUTES: readonly Attribute[] = Object.freeze([
  // demographics (income, children and marital status are inferred by the operator's analytics)
  int('age', 'demographics', 10, 100, 'Age in years.'),
  enm('gender', 'demographics', ['female', 'male'], 'Gender as registered or inferred.'),
  enm(
    'language',
    'demographics',
    ['en', 'ru', 'uk', 'de', 'fr', 'es', 'pl', 'tr', 'ar', 'zh'],
    'Preferred language.',
  ),
  enm(
    'income_band',
    'demographics',
    ['low', 'lower_middle', 'middle', 'upper_middle', 'high'],
    'Inferred income band.',
  ),
  bool('has_children', 'demographics', 'Inferred: has children in the household.'),
  enm(
    'marital_status',
    'demographics',
    ['single', 'married', 'divorced', 'widowed'],
    'Inferred marital status.',
  ),
  // geography
  enm('home_region', 'geography', REGIONS, 'Region of the night-time location.'),
  enm('home_city', 'geography', CITIES, 'City of the night-time location.'),
  enm('work_city', 'geography', CITIES, 'City of the weekday day-time location.'),
  // telecom
  enm(
    'tariff_plan',
    'telecom',
    ['basic', 'smart_s', 'smart_m', 'smart_l', 'unlimited', 'youth', 'senior', 'family', 'business'],
    'Current tariff plan.',
  ),
  enm('contract_type', 'telecom', ['prepaid', 'postpaid', 'corporate'], 'Payment / contract type.'),
  int('tenure_months', 'telecom', 0, 600, 'Months since the line was activated.'),
  dec('arpu', 'telecom', 0, 600, 100, 'Average revenue per user per month (currency units).'),
  dec('data_gb_month', 'telecom', 0, 1000, 10, 'Mobile data used per month, GB.'),
  int('voice_min_month', 'telecom', 0, 50_000, 'Voice minutes per month.'),
  int('sms_month', 'telecom', 0, 50_000, 'SMS sent per month.'),
  int('roaming_trips_year', 'telecom', 0, 200, 'Trips abroad with roaming in the last 12 months.'),
  enm('network_generation', 'telecom', ['2g', '3g', '4g', '5g'], 'Best network generation the device uses.'),
  int('lines_on_account', 'telecom', 1, 50, 'Lines on the same account (family / business).'),
  int('topups_month', 'telecom', 0, 100, 'Prepaid top-ups per month.'),
  bool('home_internet', 'telecom', 'Also has the operator’s fixed broadband.'),
  bool('tv_subscriber', 'telecom', 'Also has the operator’s TV service.'),
  bool('esim', 'telecom', 'The line uses an eSIM.'),
  // device
  enm(
    'device_os',
    'device',
    ['android', 'ios', 'harmonyos', 'feature_phone', 'other'],
    'Device operating system.',
  ),
  enm(
    'device_brand',
    'device',
    [
      'apple',
      'samsung',
      'xiaomi',
      'huawei',
      'honor',
      'oppo',
      'vivo',
      'realme',
      'google',
      'motorola',
      'nokia',
      'other',
    ],
    'Device brand.',
  ),
  enm('device_price_tier', 'device', ['budget', 'mid', 'premium', 'flagship'], 'Price tier of the device.'),
  int('device_age_months', 'device', 0, 240, 'Months since the device was first seen on the network.'),
  bool('dual_sim', 'device', 'The device holds two SIMs.'),
  // interests
  {
    name: 'interests',
    group: 'interests',
    type: 'set',
    values: INTERESTS,
    description: 'Interest categories inferred from browsing and app usage.',
  },
  // behaviour
  ts('last_activity_at', 'behaviour', 'Last chargeable activity (call, SMS, data session).'),
  ts('last_purchase_at', 'behaviour', 'Last purchase with a partner retailer.'),
  ts('last_topup_at', 'behaviour', 'Last prepaid top-up.'),
  ts('last_app_login_at', 'behaviour', 'Last login to the operator’s app.'),
  int('purchases_90d', 'behaviour', 0, 250, 'Partner purchases in the last 90 days.'),
  dec('avg_basket', 'behaviour', 0, 5000, 10, 'Average partner basket (currency units).'),
  bool('app_user', 'behaviour', 'Uses the operator’s app.'),
  bool('loyalty_member', 'behaviour', 'Member of the loyalty programme.'),
  bool('loyalty_card_activated', 'behaviour', 'Has activated the loyalty card.'),
  int('birthday_month', 'behaviour', 1, 12, 'Month of birth (1–12).'),
  dec('churn_score', 'behaviour', 0, 1, 100, 'Churn propensity, 0 (stays) to 1 (leaves).'),
  int('nps', 'behaviour', 0, 10, 'Last net-promoter answer (0–10).'),
]);

/** Name → attribute lookup over a catalogue. */
export function attributeMap(catalogue: readonly Attribute[] = ATTRIBUTES): ReadonlyMap<string, Attribute> {
  return new Map(catalogue.map((a) => [a.name, a]));
}
