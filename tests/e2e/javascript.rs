//! End to end: the JavaScript plugin `impossible-travel`, built from source with its pinned
//! toolchain (`plugins/impossible-travel/build`, componentize-js), through the real binary.
//!
//! Sign-ins arrive as a SOC streams them: Okta System Log events and Entra ID sign-in logs
//! (as diagnostic settings export them), each read through a field mapping, so the plugin
//! finds the vendor's own location fields in `alert.raw`. The plugin runs within the default
//! sandbox limits (64 MiB of memory, a 5 s deadline): the config sets none.

use palisade_e2e::{Case, Run, foreign_plugin, note, plain_alert, strings, workspace_root};
use serde_json::{Value, json};

/// The plugin, mappings for the two vendors, and one alert at a time so that no two
/// invocations read and write the same account's state at once.
const CONFIG: &str = r#"
[defaults]
concurrency = 1

[plugins.impossible-travel]
path = "${IMPOSSIBLE_TRAVEL}"
stage = "triage"
grants = ["kv.get", "kv.set"]

[intake.mappings.okta]
match = { eventType = "user.session.start" }
id = "uuid"
title = "displayMessage"
rule_id = "eventType"
timestamp = "published"

[intake.mappings.okta.defaults]
source = "Okta"
category = "initial-access"
severity = "informational"

[[intake.mappings.okta.entities]]
kind = "user"
path = "actor.alternateId"

[[intake.mappings.okta.entities]]
kind = "ip"
path = "client.ipAddress"
direction = "source"

[intake.mappings.entra]
match = { category = "SignInLogs" }
id = "properties.id"
title = "operationName"
timestamp = "properties.createdDateTime"

[intake.mappings.entra.defaults]
source = "Entra ID"
category = "initial-access"
severity = "informational"

[[intake.mappings.entra.entities]]
kind = "user"
path = "properties.userPrincipalName"

[[intake.mappings.entra.entities]]
kind = "ip"
path = "properties.ipAddress"
direction = "source"
"#;

/// A place a sign-in came from, as GeoIP names it.
struct Place {
    city: &'static str,
    region: &'static str,
    /// Okta gives the country's name, Entra its ISO code.
    country: &'static str,
    country_code: &'static str,
    lat: f64,
    lon: f64,
}

const NEW_YORK: Place = Place {
    city: "New York",
    region: "New York",
    country: "United States",
    country_code: "US",
    lat: 40.7128,
    lon: -74.006,
};
const TOKYO: Place = Place {
    city: "Tokyo",
    region: "Tokyo",
    country: "Japan",
    country_code: "JP",
    lat: 35.6762,
    lon: 139.6503,
};
const OSAKA: Place = Place {
    city: "Osaka",
    region: "Osaka",
    country: "Japan",
    country_code: "JP",
    lat: 34.6937,
    lon: 135.5023,
};
const LONDON: Place = Place {
    city: "London",
    region: "England",
    country: "United Kingdom",
    country_code: "GB",
    lat: 51.5074,
    lon: -0.1278,
};
const PARIS: Place = Place {
    city: "Paris",
    region: "Ile-de-France",
    country: "France",
    country_code: "FR",
    lat: 48.8566,
    lon: 2.3522,
};

/// An Okta System Log `user.session.start` event, as the System Log API returns it.
fn okta(id: &str, user: &str, at: &str, ip: &str, place: &Place) -> String {
    let geo = json!({
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "postalCode": null,
        "geolocation": {"lat": place.lat, "lon": place.lon},
    });
    json!({
        "uuid": id,
        "published": at,
        "eventType": "user.session.start",
        "version": "0",
        "severity": "INFO",
        "legacyEventType": "core.user_auth.login_success",
        "displayMessage": "User login to Okta",
        "actor": {"id": "00u1a2b3c4d5e6f7g8h9", "type": "User", "alternateId": user, "displayName": user},
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
            "zone": "null",
            "device": "Computer",
            "ipAddress": ip,
            "geographicalContext": geo,
        },
        "outcome": {"result": "SUCCESS", "reason": null},
        "transaction": {"type": "WEB", "id": format!("W{id}"), "detail": {}},
        "target": [],
        "request": {"ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4"}]},
    })
    .to_string()
}

/// An Entra ID sign-in as diagnostic settings export it (`SignInLogs`): the Microsoft Graph
/// `signIn` resource under `properties`.
fn entra(id: &str, user: &str, at: &str, ip: &str, place: &Place) -> String {
    json!({
        "time": at,
        "resourceId": "/tenants/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "category": "SignInLogs",
        "tenantId": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "resultType": "0",
        "callerIpAddress": ip,
        "properties": {
            "id": id,
            "createdDateTime": at,
            "userPrincipalName": user,
            "userId": "1a2b3c4d-0002-4000-8000-000000000b0b",
            "appDisplayName": "Office 365 Exchange Online",
            "ipAddress": ip,
            "clientAppUsed": "Browser",
            "status": {"errorCode": 0, "failureReason": null},
            "location": {
                "city": place.city,
                "state": place.region,
                "countryOrRegion": place.country_code,
                "geoCoordinates": {"altitude": null, "latitude": place.lat, "longitude": place.lon},
            },
        },
    })
    .to_string()
}

fn case() -> Case {
    let wasm = foreign_plugin("impossible-travel");
    let case = Case::new().var("IMPOSSIBLE_TRAVEL", &wasm.display().to_string());
    case.config(CONFIG);
    case
}

/// `palisade run` on these alerts in the case's folder, whose state is kept between runs.
fn run(case: &Case, alerts: &[String]) -> Run {
    case.alerts(alerts);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    run
}

/// What the plugin did with the alert: it completed, and here is its record.
fn travel(run: &Run, id: &str) -> Value {
    let plugin = run.plugin(id, "impossible-travel");
    assert_eq!(plugin["status"], "completed", "{id}\n{run}");
    plugin
}

/// The plugin took no view of the alert: no verdict, no risk, no tag.
fn no_opinion(run: &Run, id: &str) -> Value {
    let plugin = travel(run, id);
    assert!(plugin["outcome"]["verdict"].is_null(), "{id}\n{run}");
    assert!(plugin["outcome"]["risk_score"].is_null(), "{id}\n{run}");
    assert_eq!(
        strings(&plugin["outcome"]["tags"]),
        Vec::<String>::new(),
        "{id}\n{run}"
    );
    plugin
}

fn travel_note(plugin: &Value) -> String {
    note(plugin, "travel").unwrap_or_default()
}

#[test]
fn sign_ins_are_compared_per_account_across_runs() {
    let case = case();

    // Run 1: each account's first sign-in is remembered; an alert without a location passes.
    let first = run(
        &case,
        &[
            okta(
                "ny-0900",
                "alice@example.com",
                "2026-11-26T09:00:00.000Z",
                "198.51.100.23",
                &NEW_YORK,
            ),
            entra(
                "ny-0000",
                "carol@example.com",
                "2026-11-26T00:00:00Z",
                "198.51.100.24",
                &NEW_YORK,
            ),
            okta(
                "ldn-1200",
                "dave@example.com",
                "2026-11-26T12:00:00.000Z",
                "198.51.100.25",
                &LONDON,
            ),
            plain_alert("edr-1", "edr-powershell"),
        ],
    );
    for id in ["ny-0900", "ny-0000", "ldn-1200"] {
        let plugin = no_opinion(&first, id);
        assert!(
            travel_note(&plugin).starts_with("first sign-in seen"),
            "{id}\n{first}"
        );
    }
    let edr = no_opinion(&first, "edr-1");
    assert!(travel_note(&edr).starts_with("no sign-in location"), "{first}");

    // Run 2, a separate process: the state is in the store, not in memory.
    let second = run(
        &case,
        &[
            okta(
                "tokyo-1000",
                "alice@example.com",
                "2026-11-26T10:00:00.000Z",
                "203.0.113.45",
                &TOKYO,
            ),
            entra(
                "tokyo-1005",
                "bob@example.com",
                "2026-11-26T10:05:00Z",
                "203.0.113.46",
                &TOKYO,
            ),
            entra(
                "ldn-0800",
                "carol@example.com",
                "2026-11-26T08:00:00Z",
                "203.0.113.47",
                &LONDON,
            ),
            okta(
                "paris-1215",
                "dave@example.com",
                "2026-11-26T12:15:00.000Z",
                "203.0.113.48",
                &PARIS,
            ),
        ],
    );

    // New York, then Tokyo an hour later: 10852 km/h, twelve times the plausible 900.
    let alice = travel(&second, "tokyo-1000");
    assert_eq!(alice["outcome"]["verdict"], "malicious", "{second}");
    assert_eq!(alice["outcome"]["risk_score"], 95, "{second}");
    assert_eq!(
        strings(&alice["outcome"]["tags"]),
        [
            "impossible-travel",
            "travel-from:new-york-united-states",
            "travel-to:tokyo-japan",
            "travel-speed-kmh:10852"
        ],
        "{second}"
    );
    assert_eq!(note(&alice, "travel:user").as_deref(), Some("alice@example.com"));
    assert_eq!(
        note(&alice, "travel:from").as_deref(),
        Some("New York, United States at 2026-11-26T09:00:00Z from 198.51.100.23")
    );
    assert_eq!(
        note(&alice, "travel:to").as_deref(),
        Some("Tokyo, Japan at 2026-11-26T10:00:00Z from 203.0.113.45")
    );
    assert_eq!(note(&alice, "travel:speed_kmh").as_deref(), Some("10852"));
    // The alert as the run reports it carries the plugin's judgement.
    let alert = second.alert("tokyo-1000");
    assert_eq!(alert["alert"]["verdict"], "malicious", "{second}");
    assert_eq!(alert["alert"]["risk_score"], 95, "{second}");

    // Bob is in Tokyo too, but has never been seen: alice's New York is hers alone.
    let bob = no_opinion(&second, "tokyo-1005");
    assert_eq!(
        travel_note(&bob),
        "first sign-in seen: bob@example.com from Tokyo, JP; remembered",
        "{second}"
    );

    // New York at midnight, London at eight: a flight, 696 km/h.
    let carol = no_opinion(&second, "ldn-0800");
    assert!(
        travel_note(&carol).starts_with("plausible: New York, US to London, GB"),
        "{second}"
    );
    assert_eq!(note(&carol, "travel:speed_kmh").as_deref(), Some("696"));

    // London, then Paris a quarter of an hour later: 1374 km/h is too fast, but not so far
    // beyond a fast flight and a GeoIP error that it is surely an attacker.
    let dave = travel(&second, "paris-1215");
    assert_eq!(dave["outcome"]["verdict"], "suspicious", "{second}");
    assert_eq!(dave["outcome"]["risk_score"], 59, "{second}");
    assert_eq!(note(&dave, "travel:speed_kmh").as_deref(), Some("1374"));

    // Run 3: a New York sign-in of alice's that arrives late, older than her Tokyo one. It is
    // compared with Tokyo (half an hour apart: impossible) and Tokyo stays remembered.
    let third = run(
        &case,
        &[okta(
            "ny-0930",
            "alice@example.com",
            "2026-11-26T09:30:00.000Z",
            "198.51.100.23",
            &NEW_YORK,
        )],
    );
    let late = travel(&third, "ny-0930");
    assert_eq!(late["outcome"]["verdict"], "malicious", "{third}");
    assert_eq!(
        note(&late, "travel:to").as_deref(),
        Some("Tokyo, Japan at 2026-11-26T10:00:00Z from 203.0.113.45"),
        "{third}"
    );
    assert!(note(&late, "travel:order").is_some(), "{third}");

    // Run 4: Osaka at eleven is an hour's train from Tokyo. Had the late New York sign-in
    // replaced Tokyo, this would be another impossible trip.
    let fourth = run(
        &case,
        &[okta(
            "osaka-1100",
            "alice@example.com",
            "2026-11-26T11:00:00.000Z",
            "203.0.113.49",
            &OSAKA,
        )],
    );
    let osaka = no_opinion(&fourth, "osaka-1100");
    assert!(
        travel_note(&osaka).starts_with("plausible: Tokyo, Japan to Osaka, Japan"),
        "{fourth}"
    );
}

#[test]
fn the_plugin_tests_itself_with_its_fixtures() {
    let wasm = foreign_plugin("impossible-travel");
    let fixtures = workspace_root().join("plugins/impossible-travel/fixtures");
    let case = Case::new();
    let plugin_test = |extra: &[&str]| {
        let mut args = vec![
            "plugin".to_owned(),
            "test".to_owned(),
            wasm.display().to_string(),
            "--alert".to_owned(),
            fixtures.join("alert.json").display().to_string(),
            "--replies".to_owned(),
            fixtures.join("replies.toml").display().to_string(),
            "--expect".to_owned(),
            fixtures.join("expect.toml").display().to_string(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        case.palisade(&args)
    };

    let run = plugin_test(&[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("expectations met"), "{run}");
    assert!(run.stdout.contains("verdict:   malicious"), "{run}");

    // The expectations are not vacuous: an admin who thinks 20000 km/h plausible gets no
    // finding, and the comparison says so.
    let lenient = plugin_test(&["--setting", "max_speed_kmh=20000"]);
    assert_eq!(lenient.code, Some(1), "{lenient}");
    assert!(
        lenient.stdout.contains("verdict: expected malicious, got none"),
        "{lenient}"
    );
}

#[test]
fn the_decision_passes_its_unit_tests_under_node() {
    // travel.js imports nothing from the host, so Node runs the same code the component does.
    let output = std::process::Command::new("node")
        .args(["--test", "plugins/impossible-travel/test/"])
        .current_dir(workspace_root())
        .output()
        .expect("node is on PATH: componentize-js needs it to build the plugin");
    assert!(
        output.status.success(),
        "node --test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
