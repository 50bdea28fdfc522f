import { CITIES, INTERESTS, REGIONS } from './catalogue.ts';
import { DAY_MS, type ProfileInput } from './codec.ts';

export interface GeneratorOptions {
  seed: number;
  count: number;
  /** "Now" for recency attributes (last activity, last purchase, ...). Default: 2026-11-23T12:00Z, so a seed reproduces. */
  nowMs?: number;
  /** First subscriber number (to generate a base in chunks). */
  offset?: number;
}

export type GeneratedProfile = ProfileInput & { sid: string };

/** mulberry32: small, fast, seedable. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A bijection on 32-bit integers (each step is invertible), so distinct numbers give distinct sids.
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The sid of subscriber number i in a base: 16 hex characters, unique per (seed, i < 2^32). */
export function syntheticSid(seed: number, i: number): string {
  const hi = mix32((i + Math.imul(seed, 0x9e3779b9)) >>> 0);
  const lo = mix32(hi ^ seed);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

const DEFAULT_NOW = Date.UTC(2026, 10, 23, 12);

const REGION_WEIGHTS = [30, 12, 12, 10, 10, 12, 8, 6];
const CITIES_OF: Record<string, string[]> = {
  capital: ['capital_city'],
  north: ['north_port', 'north_hills'],
  south: ['south_bay', 'south_plains'],
  east: ['east_river', 'east_forge'],
  west: ['west_gate', 'west_fields'],
  central: ['central_junction', 'central_lakes'],
  coast: ['coast_haven', 'coast_sands'],
  mountains: ['mountain_pass', 'mountain_springs'],
};
const LANGUAGES = ['uk', 'ru', 'en', 'pl', 'de', 'tr', 'ar', 'zh', 'fr', 'es'];
const LANGUAGE_WEIGHTS = [62, 20, 7, 3, 2, 2, 1, 1, 1, 1];
const ANDROID_BRANDS = [
  'samsung',
  'xiaomi',
  'huawei',
  'honor',
  'oppo',
  'vivo',
  'realme',
  'google',
  'motorola',
  'other',
];
const ANDROID_WEIGHTS = [32, 22, 6, 6, 7, 6, 6, 4, 5, 6];
const INCOME = ['low', 'lower_middle', 'middle', 'upper_middle', 'high'];
const TIERS = ['budget', 'mid', 'premium', 'flagship'];

function pick<T>(random: () => number, values: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const w of weights) total += w;
  let r = random() * total;
  for (let i = 0; i < values.length; i++) {
    r -= weights[i];
    if (r < 0) return values[i];
  }
  return values[values.length - 1];
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);
const round = (x: number, scale: number) => Math.round(x * scale) / scale;

/**
 * Yields a synthetic subscriber base with plausible distributions and correlations: income peaks in
 * mid-life; device OS and price tier follow income and age; tariff follows age, children and contract;
 * ARPU follows tariff; interests follow age, gender and children; recency is mostly recent with a
 * lapsed tail. About 2–3% of values are unknown (null). Same seed → same base.
 */
export function* generateSubscribers(options: GeneratorOptions): Generator<GeneratedProfile> {
  const { seed, count } = options;
  const nowMs = options.nowMs ?? DEFAULT_NOW;
  const today = Math.floor(nowMs / DAY_MS);
  const offset = options.offset ?? 0;
  const random = createRandom(seed ^ Math.imul(offset + 1, 0x2545f491));
  const chance = (p: number) => random() < p;
  const maybe = <T>(v: T, pUnknown = 0.02): T | null => (random() < pUnknown ? null : v);
  const daysAgo = (d: number) => dayIso(today - Math.max(0, Math.floor(d)));
  const exp = (mean: number) => -Math.log(1 - random()) * mean;

  for (let n = 0; n < count; n++) {
    const i = offset + n;
    const age = Math.round(clamp(16 + (random() + random() + random()) * 22 + (random() - 0.5) * 8, 12, 92));
    const gender = chance(0.52) ? 'female' : 'male';
    const midLife = 1 - Math.abs(age - 45) / 45;
    const incomeIdx = clamp(Math.floor(random() * 3.2 + midLife * 2 - 0.4), 0, 4);
    const hasChildren = age >= 24 && age <= 55 ? chance(0.55) : age > 55 ? chance(0.1) : false;
    const married = age < 22 ? chance(0.05) : chance(hasChildren ? 0.75 : 0.4);
    const marital = married
      ? 'married'
      : age > 60 && chance(0.3)
        ? 'widowed'
        : age > 30 && chance(0.2)
          ? 'divorced'
          : 'single';
    const region = pick(random, REGIONS, REGION_WEIGHTS);
    const cities = CITIES_OF[region];
    const homeCity = chance(0.08) ? 'other' : cities[Math.floor(random() * cities.length)];
    const workCity = chance(0.75)
      ? homeCity
      : chance(0.6)
        ? 'capital_city'
        : CITIES[Math.floor(random() * CITIES.length)];

    const corporate = age >= 22 && age <= 65 && chance(0.07);
    const postpaid = !corporate && chance(0.2 + incomeIdx * 0.12 - (age < 22 ? 0.15 : 0));
    const contract = corporate ? 'corporate' : postpaid ? 'postpaid' : 'prepaid';
    let tariff: string;
    if (corporate) tariff = 'business';
    else if (age < 25 && chance(0.45)) tariff = 'youth';
    else if (age >= 65 && chance(0.45)) tariff = 'senior';
    else if (hasChildren && chance(0.3)) tariff = 'family';
    else
      tariff = ['basic', 'smart_s', 'smart_m', 'smart_l', 'unlimited'][
        clamp(Math.floor(incomeIdx + random() * 1.6 - 0.3), 0, 4)
      ];
    const baseArpu: Record<string, number> = {
      basic: 5,
      smart_s: 9,
      smart_m: 14,
      smart_l: 20,
      unlimited: 30,
      youth: 7,
      senior: 5,
      family: 24,
      business: 35,
    };
    const arpu = round(
      clamp(baseArpu[tariff] * (0.7 + random() * 0.7) + (random() < 0.05 ? exp(40) : 0), 0, 600),
      100,
    );

    const feature = age > 70 ? chance(0.35) : age > 60 ? chance(0.12) : chance(0.01);
    const iosP = clamp(0.08 + incomeIdx * 0.09 + (age < 35 ? 0.1 : 0) - (age > 60 ? 0.1 : 0), 0.02, 0.7);
    const os = feature
      ? 'feature_phone'
      : chance(iosP)
        ? 'ios'
        : chance(0.03)
          ? 'harmonyos'
          : chance(0.01)
            ? 'other'
            : 'android';
    const brand =
      os === 'ios'
        ? 'apple'
        : os === 'feature_phone'
          ? chance(0.6)
            ? 'nokia'
            : 'other'
          : os === 'harmonyos'
            ? 'huawei'
            : pick(random, ANDROID_BRANDS, ANDROID_WEIGHTS);
    const tierIdx =
      os === 'feature_phone'
        ? 0
        : clamp(Math.floor(incomeIdx * 0.7 + random() * 1.8 + (os === 'ios' ? 1.3 : 0) - 0.4), 0, 3);
    const gen =
      os === 'feature_phone'
        ? chance(0.7)
          ? '2g'
          : '3g'
        : tierIdx >= 2 && chance(0.6)
          ? '5g'
          : chance(0.92)
            ? '4g'
            : '3g';
    const young = age < 30 ? 1 : age < 45 ? 0.6 : age < 60 ? 0.35 : 0.15;
    const dataGb =
      os === 'feature_phone'
        ? 0
        : round(clamp(exp(4 + young * 18 + (tariff === 'unlimited' ? 25 : 0)), 0, 1000), 10);
    const appUser = os !== 'feature_phone' && chance(0.25 + young * 0.35);
    const loyalty = chance(0.3 + incomeIdx * 0.03);
    const lastPurchaseDays = chance(0.25) ? -1 : chance(0.15) ? 30 + exp(60) : exp(10);
    const purchases =
      lastPurchaseDays < 0 || lastPurchaseDays > 90 ? 0 : Math.round(clamp(exp(4 + incomeIdx), 1, 250));
    const lapsed = chance(0.06);

    const interests: string[] = [];
    const female = gender === 'female' ? 1 : 0;
    const p: Record<string, number> = {
      sports: 0.15 + (1 - female) * 0.2 + young * 0.1,
      fitness: 0.1 + young * 0.2,
      travel: 0.08 + incomeIdx * 0.06,
      fashion: 0.06 + female * 0.25 + young * 0.05,
      beauty: 0.04 + female * 0.3,
      electronics: 0.12 + (1 - female) * 0.1,
      gaming: 0.03 + young * 0.3 * (1.3 - female * 0.6),
      auto: age >= 22 ? 0.08 + (1 - female) * 0.15 : 0.01,
      pets: 0.15,
      kids: hasChildren ? 0.6 : 0.02,
      home_garden: 0.05 + (age > 40 ? 0.2 : 0),
      food_delivery: 0.08 + young * 0.25 + (region === 'capital' ? 0.1 : 0),
      restaurants: 0.08 + incomeIdx * 0.04,
      coffee: 0.12 + young * 0.1,
      books: 0.1 + female * 0.06,
      music: 0.1 + young * 0.25,
      movies: 0.2,
      finance: 0.04 + incomeIdx * 0.05,
      education: 0.05 + (age < 25 ? 0.2 : 0) + (hasChildren ? 0.05 : 0),
      health: 0.05 + (age > 50 ? 0.2 : 0),
    };
    if (os !== 'feature_phone') for (const name of INTERESTS) if (chance(p[name])) interests.push(name);

    yield {
      sid: syntheticSid(seed, i),
      age: maybe(age, 0.03),
      gender: maybe(gender, 0.03),
      language: maybe(pick(random, LANGUAGES, LANGUAGE_WEIGHTS)),
      income_band: maybe(INCOME[incomeIdx], 0.05),
      has_children: maybe(hasChildren, 0.05),
      marital_status: maybe(marital, 0.08),
      home_region: maybe(region, 0.01),
      home_city: maybe(homeCity, 0.01),
      work_city: maybe(workCity, 0.1),
      tariff_plan: tariff,
      contract_type: contract,
      tenure_months: Math.round(clamp(exp(30 + (age - 16) * 1.5), 0, Math.min(600, (age - 10) * 12))),
      arpu,
      data_gb_month: dataGb,
      voice_min_month: Math.round(clamp(exp(120 + (1 - young) * 150 + (corporate ? 300 : 0)), 0, 50_000)),
      sms_month: Math.round(clamp(exp(8 + (age > 50 ? 12 : 0)), 0, 50_000)),
      roaming_trips_year: Math.round(clamp(exp(0.3 + incomeIdx * 0.5 + (corporate ? 2 : 0)), 0, 200)),
      network_generation: maybe(gen),
      lines_on_account: corporate
        ? Math.round(clamp(1 + exp(8), 1, 50))
        : tariff === 'family'
          ? 2 + Math.floor(random() * 4)
          : 1,
      topups_month: contract === 'prepaid' ? Math.round(clamp(exp(1.5), 0, 100)) : null,
      home_internet: maybe(chance(0.2 + incomeIdx * 0.06)),
      tv_subscriber: maybe(chance(0.12)),
      esim: os === 'ios' || tierIdx === 3 ? chance(0.25) : false,
      device_os: maybe(os, 0.01),
      device_brand: maybe(brand, 0.02),
      device_price_tier: maybe(TIERS[tierIdx], 0.03),
      device_age_months: maybe(Math.round(clamp(exp(14 + (1 - young) * 12), 0, 240)), 0.02),
      dual_sim: os === 'ios' ? false : maybe(chance(0.45)),
      interests,
      last_activity_at: lapsed ? daysAgo(30 + exp(90)) : daysAgo(exp(1.5)),
      last_purchase_at: lastPurchaseDays < 0 ? null : daysAgo(lastPurchaseDays),
      last_topup_at: contract === 'prepaid' ? daysAgo(exp(lapsed ? 80 : 14)) : null,
      last_app_login_at: appUser ? daysAgo(exp(6)) : null,
      purchases_90d: purchases,
      avg_basket: purchases > 0 ? round(clamp(8 + exp(15 + incomeIdx * 10), 0, 5000), 10) : null,
      app_user: appUser,
      loyalty_member: loyalty,
      loyalty_card_activated: loyalty ? chance(0.65) : null,
      birthday_month: maybe(1 + Math.floor(random() * 12), 0.04),
      churn_score: round(
        clamp(
          0.15 +
            (contract === 'prepaid' ? 0.2 : 0) +
            (lapsed ? 0.4 : 0) -
            Math.min(0.15, age / 600) +
            (random() - 0.5) * 0.3,
          0,
          1,
        ),
        100,
      ),
      nps: chance(0.4) ? Math.floor(random() * 11) : null,
    };
  }
}

const isoCache = new Map<number, string>();
function dayIso(day: number): string {
  let s = isoCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (isoCache.size < 100_000) isoCache.set(day, s);
  }
  return s;
}
