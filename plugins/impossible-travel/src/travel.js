// The decision, with no host imports, so that it reads on its own and `node --test` can run it
// outside the sandbox: where and when a sign-in happened, and whether two of them are further
// apart than anyone can travel in the time between.

/** Mean radius of the Earth in km (IUGG), the usual sphere for great-circle distances. */
const EARTH_RADIUS_KM = 6371.0088;

/** Below this the time between two sign-ins counts as this long: the clocks of an IdP's
 * regions and of the SIEM that relays them disagree by about that much, and a zero would
 * divide by it. */
const MIN_HOURS = 1 / 60;

/** How deep, and through how many values, the search for a sign-in goes: an alert wrapper
 * nests the vendor's event a few levels down, never deeper, and a hostile document must not
 * make the search slow. */
const MAX_DEPTH = 6;
const MAX_VALUES = 5000;

/** Great-circle distance in km between two points given in degrees (the haversine formula,
 * which stays accurate for short distances where the law of cosines loses precision). */
export function haversineKm(a, b) {
  const rad = (degrees) => (degrees * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Milliseconds since 1970 from an RFC 3339 time, or `undefined`. */
export function parseTime(text) {
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A coordinate as a number in its range, or `undefined`: vendors send numbers, but a SIEM
 * that flattened the event may have turned them into strings. */
function coordinate(value, limit) {
  if (value === null || value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) && Math.abs(number) <= limit ? number : undefined;
}

/** `{lat, lon}`, or `undefined` when either is missing. GeoIP databases answer (0, 0) for an
 * address they cannot place, which would put the user in the Gulf of Guinea. */
function point(lat, lon) {
  const p = { lat: coordinate(lat, 90), lon: coordinate(lon, 180) };
  if (p.lat === undefined || p.lon === undefined) return undefined;
  return p.lat === 0 && p.lon === 0 ? undefined : p;
}

const text = (value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/** An object, or a JSON text of one: some exports (Log Analytics, Splunk's `_raw`) keep a
 * nested document as a string. */
function object(value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  if (typeof value === 'string' && value.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
    } catch {
      // Not JSON after all: a string that happens to start with a brace.
    }
  }
  return undefined;
}

/**
 * An Okta System Log event (`LogEvent`): the location is `client.geographicalContext`
 * (`city`, `state`, `country`, `geolocation.lat`/`lon`), the time `published`, the account
 * `actor.alternateId` and the result `outcome.result`.
 */
function fromOkta(event) {
  const client = object(event.client);
  if (!client || !('geographicalContext' in client)) return undefined;
  const geo = object(client.geographicalContext) ?? {};
  const location = object(geo.geolocation) ?? {};
  const result = text(object(event.outcome)?.result)?.toUpperCase();
  return {
    vendor: 'Okta',
    user: text(object(event.actor)?.alternateId),
    at: parseTime(event.published),
    ip: text(client.ipAddress),
    city: text(geo.city),
    region: text(geo.state),
    country: text(geo.country),
    point: point(location.lat, location.lon),
    // Okta records a denied or failed attempt as its own event; SUCCESS and ALLOW sign in.
    failed: result === 'FAILURE' || result === 'DENY',
  };
}

/**
 * An Entra ID sign-in: the Microsoft Graph `signIn` resource, also what diagnostic settings
 * export under `properties` (`location.city`, `state`, `countryOrRegion`,
 * `geoCoordinates.latitude`/`longitude`, `createdDateTime`, `userPrincipalName`,
 * `status.errorCode`), or a Log Analytics `SigninLogs` row (`LocationDetails`,
 * `TimeGenerated`, `UserPrincipalName`, `IPAddress`, `ResultType`).
 */
function fromEntra(event) {
  const location = object(event.location) ?? object(event.LocationDetails);
  if (!location || !('geoCoordinates' in location || 'countryOrRegion' in location)) return undefined;
  const coordinates = object(location.geoCoordinates) ?? {};
  // 0 is success in both; SigninLogs keeps the code as a string.
  const code = object(event.status)?.errorCode ?? event.ResultType;
  return {
    vendor: 'Entra ID',
    user: text(event.userPrincipalName) ?? text(event.UserPrincipalName),
    at: parseTime(event.createdDateTime) ?? parseTime(event.TimeGenerated),
    ip: text(event.ipAddress) ?? text(event.IPAddress),
    city: text(location.city),
    region: text(location.state),
    country: text(location.countryOrRegion),
    point: point(coordinates.latitude, coordinates.longitude),
    failed: code !== undefined && code !== null && String(code) !== '0',
  };
}

/**
 * The sign-ins an alert's original document describes, shallowest first; empty when it has
 * none in a shape this plugin knows. The document may be the vendor's event itself (a field
 * mapping of Okta's System Log or an Entra export) or carry events inside (a SIEM alert with
 * the events that matched its rule), so the search walks the document breadth first and does
 * not look inside an event it recognized.
 */
export function findSignIns(raw) {
  let document;
  try {
    document = JSON.parse(raw);
  } catch {
    return [];
  }
  const found = [];
  let level = [document];
  let seen = 0;
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth += 1) {
    const next = [];
    for (const value of level) {
      if (++seen > MAX_VALUES) return found;
      if (Array.isArray(value)) {
        next.push(...value);
        continue;
      }
      const node = object(value);
      if (!node) continue;
      const signIn = fromOkta(node) ?? fromEntra(node);
      if (signIn) found.push(signIn);
      else next.push(...Object.values(node));
    }
    level = next;
  }
  return found;
}

/** "Tokyo, Japan": the most precise names the vendor gave, or the coordinates. */
export function placeName(signIn) {
  const names = [signIn.city, signIn.country ?? signIn.region].filter(Boolean);
  if (names.length > 0) return names.join(', ');
  return signIn.point ? `${signIn.point.lat.toFixed(2)}, ${signIn.point.lon.toFixed(2)}` : 'an unknown place';
}

/** "new-york-united-states": a place as a tag value. Letters outside ASCII are kept as they
 * are ("são-paulo"): the engine is built without Unicode data, so `\p{Letter}` is no option. */
export const slug = (name) =>
  name
    .toLowerCase()
    .replace(/[\x00-\x2f\x3a-\x60\x7b-\x7f]+/g, '-')
    .replace(/^-|-$/g, '');

/**
 * How risky a trip at `speedKmh` is when `maxSpeedKmh` is the fastest plausible: 50 just above
 * it, 15 more for every doubling, at most 95. At 70 and above (more than about 2.5 times the
 * plausible speed, far beyond any airliner) it is malicious, the scale `triage` uses.
 */
export function riskOf(speedKmh, maxSpeedKmh) {
  const risk = Math.round(50 + 15 * Math.log2(speedKmh / maxSpeedKmh));
  return Math.max(50, Math.min(95, risk));
}

export const verdictOf = (risk) => (risk >= 70 ? 'malicious' : 'suspicious');

/**
 * Compares two sign-ins of one account, `{at, point}` each, `earlier` first.
 *
 * Returns `{kind, earlier, later, distanceKm, hours, speedKmh}` where `kind` is
 * `nearby` (closer than `minDistanceKm`: GeoIP places one address tens of km apart from day to
 * day, and a mobile network's exit point moves), `plausible`, or `impossible` with `risk` and
 * `verdict` added.
 */
export function compare(earlier, later, { maxSpeedKmh, minDistanceKm }) {
  const distanceKm = haversineKm(earlier.point, later.point);
  const hours = Math.max(MIN_HOURS, (later.at - earlier.at) / 3_600_000);
  const speedKmh = distanceKm / hours;
  const trip = { earlier, later, distanceKm, hours, speedKmh };
  if (distanceKm < minDistanceKm) return { kind: 'nearby', ...trip };
  if (speedKmh <= maxSpeedKmh) return { kind: 'plausible', ...trip };
  const risk = riskOf(speedKmh, maxSpeedKmh);
  return { kind: 'impossible', risk, verdict: verdictOf(risk), ...trip };
}

/**
 * The trips one account made: its sign-ins (`{at, point, ...}`, some marked `fresh` when
 * they are new in this alert, the one remembered not) put in time order, and each pair of
 * neighbours compared where one of the two is fresh. Sorting first is what makes an alert
 * that arrives late compare with the sign-ins around it, not with the newest one.
 */
export function trips(signIns, settings) {
  const ordered = [...signIns].sort((a, b) => a.at - b.at);
  const found = [];
  for (let i = 1; i < ordered.length; i += 1) {
    const [earlier, later] = [ordered[i - 1], ordered[i]];
    if (earlier.fresh || later.fresh) found.push(compare(earlier, later, settings));
  }
  return found;
}

const RANK = { nearby: 0, plausible: 1, impossible: 2 };

/** The trip that matters most: impossible over plausible over nearby, then the fastest. */
export const worst = (trips) =>
  trips.reduce((a, b) =>
    RANK[b.kind] > RANK[a.kind] || (RANK[b.kind] === RANK[a.kind] && b.speedKmh > a.speedKmh) ? b : a,
  );
