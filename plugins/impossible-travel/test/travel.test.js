// The decision outside the sandbox: `node --test plugins/impossible-travel/test/`.
// travel.js imports nothing from the host, so Node runs it as the component does.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compare, findSignIns, haversineKm, placeName, riskOf, slug, trips, worst } from '../src/travel.js';

const NEW_YORK = { lat: 40.7128, lon: -74.006 };
const TOKYO = { lat: 35.6762, lon: 139.6503 };
const LONDON = { lat: 51.5074, lon: -0.1278 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const SETTINGS = { maxSpeedKmh: 900, minDistanceKm: 200 };
const hour = 3_600_000;

/** The spherical law of cosines: another formula for the same distance. */
function cosinesKm(a, b) {
  const rad = (degrees) => (degrees * Math.PI) / 180;
  const cos = Math.sin(rad(a.lat)) * Math.sin(rad(b.lat)) + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return 6371.0088 * Math.acos(Math.min(1, cos));
}

test('great-circle distances agree with another formula and the published ones', () => {
  assert.ok(Math.abs(haversineKm(NEW_YORK, TOKYO) - cosinesKm(NEW_YORK, TOKYO)) < 0.01);
  assert.ok(Math.abs(haversineKm(LONDON, PARIS) - cosinesKm(LONDON, PARIS)) < 0.01);
  assert.equal(Math.round(haversineKm(NEW_YORK, TOKYO)), 10852);
  assert.equal(Math.round(haversineKm(LONDON, PARIS)), 344);
  assert.equal(haversineKm(PARIS, PARIS), 0);
});

test('New York then Tokyo an hour later is impossible and malicious', () => {
  const trip = compare({ at: 0, point: NEW_YORK }, { at: hour, point: TOKYO }, SETTINGS);
  assert.equal(trip.kind, 'impossible');
  assert.equal(trip.verdict, 'malicious');
  assert.equal(trip.risk, 95);
  assert.equal(Math.round(trip.speedKmh), 10852);
});

test('London then Paris in 15 minutes is suspicious, not malicious', () => {
  const trip = compare({ at: 0, point: LONDON }, { at: hour / 4, point: PARIS }, SETTINGS);
  assert.equal(trip.kind, 'impossible');
  assert.equal(trip.verdict, 'suspicious');
  assert.equal(trip.risk, riskOf(trip.speedKmh, 900));
  assert.ok(trip.risk >= 50 && trip.risk < 70, `risk ${trip.risk}`);
});

test('a flight, and GeoIP jitter, are not flagged', () => {
  assert.equal(compare({ at: 0, point: NEW_YORK }, { at: 8 * hour, point: LONDON }, SETTINGS).kind, 'plausible');
  const jitter = { lat: NEW_YORK.lat + 0.5, lon: NEW_YORK.lon };
  assert.equal(compare({ at: 0, point: NEW_YORK }, { at: 60_000, point: jitter }, SETTINGS).kind, 'nearby');
});

test('the risk grows with the speed and stays between 50 and 95', () => {
  assert.equal(riskOf(901, 900), 50);
  assert.equal(riskOf(1800, 900), 65);
  assert.equal(riskOf(3600, 900), 80);
  assert.equal(riskOf(1e9, 900), 95);
});

test('sign-ins are compared in time order, only pairs with a new one', () => {
  const remembered = { at: 2 * hour, point: TOKYO, fresh: false };
  const late = { at: 0, point: NEW_YORK, fresh: true };
  const [trip] = trips([remembered, late], SETTINGS);
  assert.equal(trip.earlier, late);
  assert.equal(trip.later, remembered);
  assert.equal(trips([remembered], SETTINGS).length, 0);
  const slow = compare({ at: 0, point: NEW_YORK }, { at: 8 * hour, point: LONDON }, SETTINGS);
  const fast = compare({ at: 0, point: NEW_YORK }, { at: hour, point: TOKYO }, SETTINGS);
  assert.equal(worst([slow, fast]), fast);
});

const okta = {
  published: '2026-11-26T09:00:00.000Z',
  actor: { type: 'User', alternateId: 'alice@example.com' },
  client: {
    ipAddress: '198.51.100.23',
    geographicalContext: { city: 'New York', state: 'New York', country: 'United States', geolocation: { lat: 40.7128, lon: -74.006 } },
  },
  outcome: { result: 'SUCCESS' },
};

test('an Okta System Log event, at the top or inside a SIEM alert as JSON text', () => {
  const [signIn] = findSignIns(JSON.stringify(okta));
  assert.equal(signIn.user, 'alice@example.com');
  assert.equal(signIn.at, Date.parse('2026-11-26T09:00:00Z'));
  assert.deepEqual(signIn.point, NEW_YORK);
  assert.equal(placeName(signIn), 'New York, United States');
  assert.equal(signIn.failed, false);
  const wrapped = findSignIns(JSON.stringify({ result: { events: [JSON.stringify(okta), JSON.stringify(okta)] } }));
  assert.equal(wrapped.length, 2);
  const failed = { ...okta, outcome: { result: 'FAILURE' } };
  assert.equal(findSignIns(JSON.stringify(failed))[0].failed, true);
});

test('Entra ID sign-ins: Graph, a diagnostic export and a SigninLogs row', () => {
  const graph = {
    createdDateTime: '2026-11-26T10:00:00Z',
    userPrincipalName: 'bob@example.com',
    ipAddress: '203.0.113.45',
    status: { errorCode: 0 },
    location: { city: 'Tokyo', state: 'Tokyo', countryOrRegion: 'JP', geoCoordinates: { latitude: 35.6762, longitude: 139.6503 } },
  };
  for (const document of [graph, { category: 'SignInLogs', properties: graph }]) {
    const [signIn] = findSignIns(JSON.stringify(document));
    assert.equal(signIn.user, 'bob@example.com');
    assert.deepEqual(signIn.point, TOKYO);
    assert.equal(placeName(signIn), 'Tokyo, JP');
    assert.equal(signIn.failed, false);
  }
  const row = {
    TimeGenerated: '2026-11-26T10:00:00.1234567Z',
    UserPrincipalName: 'bob@example.com',
    ResultType: '50126',
    LocationDetails: JSON.stringify(graph.location),
  };
  const [signIn] = findSignIns(JSON.stringify(row));
  assert.equal(signIn.failed, true);
  assert.deepEqual(signIn.point, TOKYO);
});

test('no location, unplaceable addresses and hostile documents', () => {
  assert.deepEqual(findSignIns('{"title": "malware"}'), []);
  assert.deepEqual(findSignIns('not json'), []);
  const unplaced = { ...okta, client: { ...okta.client, geographicalContext: { geolocation: { lat: 0, lon: 0 } } } };
  assert.equal(findSignIns(JSON.stringify(unplaced))[0].point, undefined);
  let deep = okta;
  for (let i = 0; i < 50; i += 1) deep = { wrapper: deep };
  assert.deepEqual(findSignIns(JSON.stringify(deep)), []);
});

test('places as tags', () => {
  assert.equal(slug('New York, United States'), 'new-york-united-states');
  assert.equal(slug('São Paulo, BR'), 'são-paulo-br');
});
