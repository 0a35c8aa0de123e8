// `impossible-travel` (triage stage): flags an account that signs in from two places further
// apart than anyone can travel in the time between, such as New York and then Tokyo an hour
// later. That pattern is a stolen password or session used from elsewhere while the owner is
// still signed in at home.
//
// For each alert it reads where and when the sign-in happened from the vendor's original
// event in `alert.raw` (Okta System Log, Entra ID sign-in logs; a SIEM alert may carry several
// such events; see travel.js), compares each account's sign-ins in time order with the one
// remembered in the plugin's key-value store, and then remembers the newest. Above
// `max_speed_kmh` the verdict is suspicious, or malicious well above it, with a risk score
// (travel.js, `riskOf`). A plausible trip, a first sign-in or an alert without a location gets
// notes only: this plugin has no opinion on the rest of the alert, and a verdict of benign
// would overrule a stage that has one.
//
// Settings (`[plugins.impossible-travel.settings]`, all optional):
//   max_speed_kmh    fastest plausible travel, default 900 (an airliner at cruise)
//   min_distance_km  closer sign-ins are never compared, default 200 (GeoIP jitter)
//   remember_days    how long a sign-in is remembered, default 30
//
// Grants: kv.get and kv.set.
//
// Intake: map each sign-in's address as an `ip` entity, not only the account. Palisade drops
// an alert whose rule and entities repeat another's within an hour (deduplication), and two
// sign-ins of one account from two places differ only in the address.

import { get as setting } from 'palisade:action/config@0.1.0';
import * as kv from 'palisade:action/kv@0.1.0';
import { log } from 'palisade:action/log@0.1.0';

import { findSignIns, parseTime, placeName, slug, trips, worst } from './travel.js';

const NAME = 'impossible-travel';
const VERSION = '0.1.0';

export function describe() {
  // Called before any grant exists: it must not call an import.
  return {
    name: NAME,
    version: VERSION,
    description:
      'Flags sign-ins from two places too far apart for the time between them (impossible travel), ' +
      'from Okta and Entra ID sign-in locations.',
    capabilities: ['kv.get', 'kv.set'],
  };
}

export function handle(alert) {
  try {
    return triage(alert, readSettings());
  } catch (error) {
    throw asActionError(error);
  }
}

/**
 * The result's error must be an `action-error` variant: an import's error (a ComponentError
 * whose `payload` is one) passes through as it came, so the host reports `denied: kv.get`
 * rather than a trap; anything else, a bug, becomes `failed` with its message.
 */
function asActionError(error) {
  if (typeof error?.payload?.tag === 'string') return error.payload;
  if (typeof error?.tag === 'string') return error;
  return { tag: 'failed', val: String(error?.message ?? error) };
}

function readSettings() {
  return {
    maxSpeedKmh: numberSetting('max_speed_kmh', 900, 1),
    minDistanceKm: numberSetting('min_distance_km', 200, 0),
    rememberDays: numberSetting('remember_days', 30, 1 / 24),
  };
}

/** A setting as a number of at least `min`; a value that is not one is the admin's mistake,
 * reported as `invalid-input` rather than guessed around. */
function numberSetting(key, fallback, min) {
  const value = setting(key);
  if (value === undefined || value === null) return fallback;
  const number = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(number) || number < min) {
    throw { tag: 'invalid-input', val: `setting ${key} = "${value}": expected a number of at least ${min}` };
  }
  return number;
}

function triage(alert, settings) {
  const found = findSignIns(alert.raw);
  if (found.length === 0) {
    return pass(
      'no sign-in location in the alert: its document is neither an Okta System Log event ' +
        '(client.geographicalContext) nor an Entra ID sign-in (location, LocationDetails)',
    );
  }

  // Each usable sign-in, by account; what cannot be used is said in a note.
  const skipped = [];
  const byUser = new Map();
  for (const signIn of found) {
    const user = signIn.user ?? onlyUser(alert);
    const place = placeName(signIn);
    if (!user) {
      skipped.push(`a ${signIn.vendor} sign-in from ${place} that names no account (nor does the alert name one)`);
    } else if (signIn.failed) {
      // An attempt that failed says where an attacker is, not where the account holder is.
      skipped.push(`${user}: a failed sign-in from ${place}, neither compared nor remembered`);
    } else if (!signIn.point) {
      skipped.push(`${user}: a sign-in from ${place} that ${signIn.vendor} did not place on the map`);
    } else {
      const at = signIn.at ?? parseTime(alert.timestamp);
      const account = user.toLowerCase();
      if (!byUser.has(account)) byUser.set(account, { user, signIns: [] });
      byUser.get(account).signIns.push({ at, point: signIn.point, place, ip: signIn.ip, fresh: true });
    }
  }
  const notes = skipped.map((reason) => note('travel:skipped', reason));
  if (byUser.size === 0) return pass(skipped.join('; '));

  const compared = [];
  const firsts = [];
  for (const [account, { user, signIns }] of byUser) {
    const key = `last-sign-in/${account}`;
    const previous = recall(key);
    const all = previous ? [previous, ...signIns] : signIns;
    const newest = all.reduce((a, b) => (b.at >= a.at ? b : a));
    // Only the newest sign-in is kept: it is where the next one is compared from. One that
    // arrives late (alerts from several sources are not in order) leaves it as it is.
    if (newest.fresh) {
      remember(key, newest, settings, notes);
    } else {
      notes.push(note('travel:order', `${user}: older than the sign-in remembered (${time(previous.at)}), which is kept`));
    }
    if (all.length === 1) firsts.push(`${user} from ${newest.place}`);
    for (const trip of trips(all, settings)) compared.push({ user, ...trip });
  }

  if (compared.length === 0) {
    return outcome({ notes: [note('travel', `first sign-in seen: ${firsts.join(', ')}; remembered`), ...notes] });
  }

  const trip = worst(compared);
  const route = `${trip.earlier.place} to ${trip.later.place}`;
  const figures = `${Math.round(trip.distanceKm)} km in ${trip.hours.toFixed(2)} h, ${Math.round(trip.speedKmh)} km/h`;
  const facts = [
    note('travel:user', trip.user),
    note('travel:from', describePlace(trip.earlier)),
    note('travel:to', describePlace(trip.later)),
    note('travel:distance_km', Math.round(trip.distanceKm).toString()),
    note('travel:hours', trip.hours.toFixed(2)),
    note('travel:speed_kmh', Math.round(trip.speedKmh).toString()),
    ...(compared.length > 1 ? [note('travel:trips', `${compared.length} compared; the one that matters most is described`)] : []),
    ...notes,
  ];

  if (trip.kind === 'nearby') {
    return outcome({ notes: [note('travel', `within ${settings.minDistanceKm} km: ${route}, not compared`), ...facts] });
  }
  if (trip.kind === 'plausible') {
    return outcome({ notes: [note('travel', `plausible: ${route}, ${figures}`), ...facts] });
  }

  const summary =
    `Impossible travel: ${trip.user} signed in from ${route}, ${figures}, ` +
    `above the plausible ${settings.maxSpeedKmh} km/h.`;
  log('warn', summary);
  return outcome({
    verdict: trip.verdict,
    riskScore: trip.risk,
    notes: [note('travel', `impossible: ${route}, ${figures}`), ...facts],
    tags: [
      NAME,
      `travel-from:${slug(trip.earlier.place)}`,
      `travel-to:${slug(trip.later.place)}`,
      `travel-speed-kmh:${Math.round(trip.speedKmh)}`,
    ],
    summary,
  });
}

/** The alert's user when it names exactly one: with several, which one signed in is a guess. */
function onlyUser(alert) {
  const users = alert.entities.filter((entity) => entity.tag === 'user').map((entity) => entity.val.name);
  return users.length === 1 ? users[0] : undefined;
}

/** The account's last sign-in, or `undefined`. A failing store is not guessed around: the
 * error reaches the host (e.g. `denied: kv.get` when the grant is missing). */
function recall(key) {
  const bytes = kv.get(key);
  if (!bytes) return undefined;
  try {
    const stored = JSON.parse(new TextDecoder().decode(bytes));
    if (Number.isFinite(stored.at) && stored.point) return { ...stored, fresh: false };
  } catch {
    // Written by another version of the plugin: start afresh rather than fail every alert.
  }
  return undefined;
}

/** Stores the sign-in. When that fails the finding still stands, so it is noted, not thrown. */
function remember(key, signIn, settings, notes) {
  const ttlSeconds = Math.min(2 ** 32 - 1, Math.round(settings.rememberDays * 86_400));
  try {
    const { at, point, place, ip } = signIn;
    kv.set(key, new TextEncoder().encode(JSON.stringify({ at, point, place, ip })), ttlSeconds);
  } catch (error) {
    const reason = asActionError(error);
    notes.push(note('travel:remembered', `no: ${reason.tag}: ${reason.val}`));
  }
}

const time = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

const describePlace = (signIn) => `${signIn.place} at ${time(signIn.at)}${signIn.ip ? ` from ${signIn.ip}` : ''}`;

const note = (key, value) => ({ key, value });

const pass = (reason) => outcome({ notes: [note('travel', reason)] });

function outcome({ verdict, riskScore, notes = [], tags = [], summary } = {}) {
  return { verdict, riskScore, notes, tags, summary };
}
