//! The seed corpus of `backend_reply`, written out readably: each vendor's documented replies
//! (as its backend's unit tests and docs/connectors.md show them) to one operation.
//!
//! Each seed must reach the end its vendor documents (a value, or the error named), so a seed
//! that stops exercising its backend's reply types (a renamed field, a changed request
//! sequence) fails here instead of fuzzing nothing. The committed files in
//! `fuzz/corpus/backend_reply/` must be these encodings; `PALISADE_WRITE_SEEDS=1` rewrites
//! them.

use palisade_fuzz_targets::backend::{Reply, connector_names, credentials, encode, leak, run};
use std::path::Path;

/// How a seed must end: a value, or an error whose message holds this text.
enum End {
    Value,
    Error(&'static str),
}

struct Seed {
    name: &'static str,
    connector: &'static str,
    operation: &'static str,
    argument: u8,
    token_replies: bool,
    replies: Vec<Reply>,
    end: End,
}

fn seed(name: &'static str, connector: &'static str, operation: &'static str, argument: u8) -> Seed {
    Seed {
        name,
        connector,
        operation,
        argument,
        token_replies: false,
        replies: Vec::new(),
        end: End::Value,
    }
}

impl Seed {
    fn reply(mut self, reply: Reply) -> Seed {
        self.replies.push(reply);
        self
    }

    fn json(self, status: u16, body: &str) -> Seed {
        self.reply(Reply::json(status, body))
    }

    fn fails_with(mut self, text: &'static str) -> Seed {
        self.end = End::Error(text);
        self
    }

    fn token_replied(mut self) -> Seed {
        self.token_replies = true;
        self
    }
}

const OKTA_ALICE: &str = r#"{"id":"00u1ab2cd3EF4gh5i6j7","status":"ACTIVE","created":"2024-01-02T10:00:00.000Z","profile":{"login":"alice@acme.example","email":"alice@acme.example","secondEmail":"a.ng@acme.example","firstName":"Alice","lastName":"Ng"},"_links":{"self":{"href":"https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7"}}}"#;
const OKTA_NOT_FOUND: &str = r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: alice@acme.example (User)","errorLink":"E0000007","errorId":"oae1","errorCauses":[]}"#;
const ENTRA_ALICE: &str = r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,displayName,mail,accountEnabled)/$entity","id":"8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f","userPrincipalName":"alice@acme.example","displayName":"Alice Ng","mail":"alice@acme.example","accountEnabled":true,"onPremisesSamAccountName":"alice","onPremisesDomainName":"acme.example","mailNickname":"alice","proxyAddresses":["SMTP:alice@acme.example","smtp:a.ng@acme.example"]}"#;
const AID: &str = "4f1a9b2c3d4e5f60718293a4b5c6d7e8";
const FALCON_FOUND: &str = r#"{"meta":{"query_time":0.004,"pagination":{"offset":1,"limit":10,"total":1},"powered_by":"device-api","trace_id":"t-1"},"resources":["4f1a9b2c3d4e5f60718293a4b5c6d7e8"],"errors":[]}"#;
const FALCON_DEVICE: &str = r#"{"meta":{"query_time":0.002,"trace_id":"t-2"},"resources":[{"device_id":"4f1a9b2c3d4e5f60718293a4b5c6d7e8","cid":"0123","hostname":"FIN-WS-07","machine_domain":"corp.example.com","platform_name":"Windows","os_version":"Windows 11","local_ip":"10.1.4.7","external_ip":"198.51.100.20","mac_address":"00-15-5d-01-02-03","status":"normal","last_seen":"2024-05-01T10:00:00Z","first_seen":"2023-01-01T00:00:00Z"}],"errors":[]}"#;
const DEFENDER_MACHINES: &str = r#"{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines","value":[{"id":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"fin-ws-07.corp.example.com","firstSeen":"2024-01-01T00:00:00Z","lastSeen":"2024-05-01T10:00:00.1234567Z","osPlatform":"Windows11","version":"23H2","lastIpAddress":"10.1.4.7","lastExternalIpAddress":"198.51.100.20","healthStatus":"Active","riskScore":"Medium","exposureLevel":"Low","aadDeviceId":null,"machineTags":["finance"]}]}"#;
const DEFENDER_ACTION: &str = r#"{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity","id":"b89eb834-4578-496c-8be0-03f004061435","type":"Isolate","requestor":"palisade","requestorComment":"password spray","status":"Pending","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","creationDateTimeUtc":"2024-05-01T10:00:00.1234567Z","lastUpdateTimeUtc":"2024-05-01T10:00:00.1234567Z"}"#;
const SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const ABUSEIPDB_REPORTED: &str = r#"{"data":{"ipAddress":"203.0.113.7","isPublic":true,"ipVersion":4,"isWhitelisted":false,"abuseConfidenceScore":100,"countryCode":"NL","usageType":"Data Center/Web Hosting/Transit","isp":"Example Hosting","domain":"example.net","hostnames":[],"isTor":false,"totalReports":1287,"numDistinctUsers":213,"lastReportedAt":"2026-11-26T08:59:00+00:00"}}"#;
const MISP_FOUND: &str = r##"{"response":{"Attribute":[{"id":"1201","event_id":"42","object_id":"0","object_relation":null,"category":"Network activity","type":"ip-dst","to_ids":true,"uuid":"5e0b6a7c-8f7c-4a5e-9c1d-2b3a4c5d6e7f","timestamp":"1795500000","distribution":"5","sharing_group_id":"0","comment":"","deleted":false,"disable_correlation":false,"first_seen":null,"last_seen":null,"value":"203.0.113.7","Event":{"org_id":"1","distribution":"1","id":"42","info":"Emotet C2 infrastructure","orgc_id":"1","uuid":"5e0b6a7c-0000-4a5e-9c1d-2b3a4c5d6e7f"},"Tag":[{"id":"7","name":"tlp:amber","colour":"#FFC000","numerical_value":null,"is_galaxy":false,"local":0},{"id":"12","name":"misp-galaxy:malpedia=\"Emotet\"","colour":"#0088cc","is_galaxy":true,"local":0}]},{"id":"1388","event_id":"57","category":"Network activity","type":"ip-src","to_ids":false,"value":"203.0.113.7","Event":{"id":"57","info":"Scanning activity","orgc_id":"2"},"Tag":[{"id":"7","name":"tlp:amber"}]}]}}"##;
const CLOUDFLARE_RULE: &str = r#"{"result":{"id":"92f17202ed8bd63d69a66b86a49a8f6b","allowed_modes":["whitelist","block","challenge","js_challenge","managed_challenge"],"configuration":{"target":"ip","value":"203.0.113.7"},"created_on":"2024-05-01T10:00:00Z","mode":"block","modified_on":"2024-05-01T10:00:00Z","notes":"password spray","scope":{"id":"023e105f4ecef8ad9ca31a8372d0c353","type":"zone"}},"success":true,"errors":[],"messages":[]}"#;
const CLOUDFLARE_LISTED: &str = r#"{"result":[{"id":"92f17202ed8bd63d69a66b86a49a8f6b","mode":"block","configuration":{"target":"ip","value":"203.0.113.7"}}],"success":true,"errors":[],"messages":[],"result_info":{"page":1,"per_page":20,"count":1,"total_count":1,"total_pages":1}}"#;
const CLOUDFLARE_DUPLICATE: &str = r#"{"result":null,"success":false,"errors":[{"code":10009,"message":"firewallaccessrules.api.duplicate_of_existing"}],"messages":[]}"#;
const ELASTIC_HITS: &str = r#"{"took":5,"timed_out":false,"_shards":{"total":2,"successful":2,"skipped":0,"failed":0},"hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[{"_index":".ds-logs-auth-2026.11.26-000001","_id":"a1","_score":null,"_source":{"@timestamp":"2026-11-26T09:01:00.000Z","timestamp":"2026-11-26T09:01:00.000Z","user":{"name":"alice"},"source":{"ip":"203.0.113.7"},"event":{"outcome":"success"}},"sort":[1795597260000]},{"_index":".ds-logs-auth-2026.11.26-000001","_id":"a0","_score":null,"_source":{"@timestamp":"2026-11-26T09:00:00.000Z","user":{"name":"alice"},"source":{"ip":"203.0.113.7"},"event":{"outcome":"failure"}},"sort":[1795597200000]}]}}"#;
const SPLUNK_RESULTS: &str = r#"{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"_raw"},{"name":"_time"},{"name":"host"},{"name":"src_ip"},{"name":"user"}],"results":[{"_bkt":"main~12~ABC","_cd":"12:345","_indextime":"1795597261","_raw":"Nov 26 09:01:00 sshd[411]: Accepted password for alice from 203.0.113.7","_serial":"0","_si":["idx1","main"],"_sourcetype":"linux_secure","_time":"2026-11-26T09:01:00.000+00:00","host":"bastion-1","src_ip":"203.0.113.7","user":"alice"},{"_raw":"Nov 26 09:00:00 sshd[409]: Failed password for alice from 203.0.113.7","_time":"2026-11-26T09:00:00.000+00:00","host":"bastion-1","src_ip":"203.0.113.7","user":"alice"}],"highlighted":{}}"#;

fn virustotal(kind: &str, id: &str, stats: &str, tags: &str) -> String {
    format!(
        r#"{{"data":{{"type":"{kind}","id":"{id}","links":{{"self":"https://www.virustotal.com/api/v3/x/{id}"}},"attributes":{{"last_analysis_date":1795600000,"last_analysis_stats":{stats},"last_analysis_results":{{}},"reputation":-11,"tags":{tags},"total_votes":{{"harmless":0,"malicious":2}}}}}}}}"#
    )
}

fn seeds() -> Vec<Seed> {
    let sys_id = "46d44a5c2f7d1110b8b5d2ca6c99b6b9";
    vec![
        // Okta: a user and two pages of groups, paged by `Link: rel="next"`.
        seed("okta-lookup-user-paged-groups", "okta", "lookup-user", 0)
            .json(200, OKTA_ALICE)
            .reply(
                Reply::json(200, r#"[{"id":"00g1","type":"OKTA_GROUP","profile":{"name":"Everyone"}}]"#).link(
                    r#"<https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200>; rel="self", <https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?after=00g1&limit=200>; rel="next""#,
                ),
            )
            .json(200, r#"[{"id":"00g2","type":"OKTA_GROUP","profile":{"name":"Finance Admins"}}]"#),
        seed("okta-lookup-user-by-email-search", "okta", "lookup-user", 0)
            .json(404, OKTA_NOT_FOUND)
            .json(200, &format!("[{OKTA_ALICE}]"))
            .json(200, "[]"),
        seed("okta-lookup-short-name", "okta", "lookup-user", 1)
            .json(200, OKTA_ALICE)
            .json(200, "[]"),
        seed("okta-lookup-unknown", "okta", "lookup-user", 1)
            .json(404, OKTA_NOT_FOUND)
            .fails_with("okta get user: Not found"),
        seed("okta-suspend-already-suspended", "okta", "disable-user", 0)
            .json(
                400,
                r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: suspend","errorCauses":[{"errorSummary":"Cannot suspend a user that is not active"}]}"#,
            )
            .json(200, &OKTA_ALICE.replace("ACTIVE", "SUSPENDED")),
        seed("okta-clear-sessions", "okta", "revoke-sessions", 0).reply(Reply {
            content_type: None,
            ..Reply::json(204, "")
        }),
        // A vendor that echoes the credential back: redacted.
        seed("okta-rate-limited-echoing-the-token", "okta", "reset-password", 0)
            .json(
                429,
                r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests: $AUTH$","errorCauses":[]}"#,
            )
            .fails_with("[redacted]"),
        // Entra: read directly, then groups paged by `@odata.nextLink`'s `$skiptoken`.
        seed("entra-lookup-user-paged-groups", "entra", "lookup-user", 0)
            .json(200, ENTRA_ALICE)
            .json(200, r##"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects(displayName)","@odata.nextLink":"https://graph.microsoft.com/v1.0/users/8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f/transitiveMemberOf?$select=displayName&$skiptoken=RFNwdAIAAQAAAA","value":[{"@odata.type":"#microsoft.graph.group","displayName":"Finance"}]}"##)
            .json(200, r##"{"value":[{"@odata.type":"#microsoft.graph.directoryRole","displayName":"Global Administrator"}]}"##),
        seed("entra-lookup-sam-account-name", "entra-direct-groups", "lookup-user", 1)
            .json(200, &format!(r#"{{"@odata.count":1,"value":[{ENTRA_ALICE}]}}"#))
            .json(200, r#"{"value":[]}"#),
        seed("entra-lookup-domain-backslash", "entra", "lookup-user", 2)
            .json(200, &format!(r#"{{"@odata.count":1,"value":[{ENTRA_ALICE}]}}"#))
            .json(200, r#"{"value":[]}"#),
        seed("entra-lookup-ambiguous", "entra", "lookup-user", 1)
            .json(
                200,
                &format!(
                    r#"{{"@odata.count":2,"value":[{ENTRA_ALICE},{}]}}"#,
                    ENTRA_ALICE.replace("8f4b2c1e-1d2a", "9f4b2c1e-1d2a")
                ),
            )
            .fails_with("2 users match \"alice\""),
        seed("entra-token-then-lookup", "entra", "lookup-user", 4)
            .token_replied()
            .json(200, r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig"}"#)
            .json(200, ENTRA_ALICE)
            .json(200, r#"{"value":[]}"#),
        seed("entra-token-refused", "entra", "disable-user", 0)
            .token_replied()
            .json(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.","error_codes":[7000215],"timestamp":"2026-11-26 09:00:00Z","trace_id":"0000","correlation_id":"0000"}"#)
            .fails_with("entra token: HTTP 401: AADSTS7000215"),
        seed("slack-refusal-echoing-the-token", "slack", "send", 0)
            .json(200, r#"{"ok":false,"error":"invalid_auth","detail":"$AUTH$"}"#)
            .fails_with("slack post message"),
        seed("slack-refusal-code-echoing-the-token", "slack", "send", 0)
            .json(200, r#"{"ok":false,"error":"$AUTH$"}"#)
            .fails_with("slack post message"),
        seed("cloudflare-refusal-echoing-the-token", "cloudflare", "block-ip", 0)
            .json(200, r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error: $AUTH$"}],"messages":[]}"#)
            .fails_with("cloudflare"),
        seed("crowdstrike-envelope-echoing-the-token", "crowdstrike", "lookup-host", 0)
            .json(200, r#"{"meta":{},"resources":[],"errors":[{"code":403,"message":"access denied, authorization: $AUTH$"}]}"#)
            .fails_with("crowdstrike find host"),
        seed("splunk-message-echoing-the-token", "splunk", "search", 0)
            .json(200, r#"{"messages":[{"type":"FATAL","text":"Unauthorized: $AUTH$"}]}"#)
            .fails_with("splunk search"),
        seed("teams-failure-echoing-the-webhook", "teams", "send", 0)
            .reply(Reply::text(200, "Webhook message delivery failed for POST $TARGET$"))
            .fails_with("teams"),
        seed("slack-webhook-error-echoing-the-webhook", "slack-webhook", "send", 0)
            .reply(Reply::text(400, "invalid_payload at $TARGET$"))
            .fails_with("slack"),
        seed("misp-error-echoing-the-key", "misp", "lookup", 0)
            .json(403, r#"{"name":"Forbidden","message":"Authentication failed for key $AUTH$","url":"\/attributes\/restSearch"}"#)
            .fails_with("misp"),
        seed("entra-token-refusal-echoing-the-request", "entra", "disable-user", 0)
            .token_replied()
            .json(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: $BODY$"}"#)
            .fails_with("entra token: HTTP 401"),
        seed("okta-error-echoing-the-token-at-the-cut", "okta", "lookup-user", 1)
            .json(404, &format!(r#"{{"errorCode":"E0000007","errorSummary":"{}$AUTH$","errorCauses":[]}}"#, "x".repeat(286)))
            .fails_with("okta get user"),
        seed("entra-revoke-sessions", "entra", "revoke-sessions", 1)
            .json(200, r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}"#),
        seed("entra-disable-throttled", "entra", "disable-user", 1)
            .json(429, r#"{"error":{"code":"TooManyRequests","message":"Too many requests","innerError":{"date":"2026-11-26T09:00:00","request-id":"0000"}}}"#)
            .fails_with("entra disable user: HTTP 429"),
        // CrowdStrike Falcon: ids by FQL filter, then the devices.
        seed("crowdstrike-lookup-host", "crowdstrike", "lookup-host", 0)
            .json(200, FALCON_FOUND)
            .json(200, FALCON_DEVICE),
        seed("crowdstrike-lookup-by-address", "crowdstrike", "lookup-host", 2)
            .json(200, FALCON_FOUND)
            .json(200, FALCON_DEVICE),
        seed("crowdstrike-contain", "crowdstrike", "isolate-host", 0)
            .json(202, &format!(r#"{{"meta":{{"query_time":0.2,"trace_id":"t-3"}},"resources":[{{"id":"{AID}","path":""}}],"errors":[]}}"#)),
        seed("crowdstrike-contain-already-contained", "crowdstrike", "isolate-host", 0)
            .json(409, r#"{"meta":{"query_time":0.1,"trace_id":"t-4"},"resources":[],"errors":[{"code":409,"message":"Host is already contained or containment is pending","id":"4f1a9b2c3d4e5f60718293a4b5c6d7e8"}]}"#)
            .json(200, &FALCON_DEVICE.replace("\"normal\"", "\"contained\"")),
        seed("crowdstrike-kill-process-unsupported", "crowdstrike", "kill-process", 0)
            .fails_with("crowdstrike kill-process: not supported"),
        // Microsoft Defender for Endpoint: machines by OData filter, machine actions.
        seed("defender-lookup-host", "defender", "lookup-host", 1).json(200, DEFENDER_MACHINES),
        seed("defender-describe-host", "defender", "describe-host", 0)
            .json(200, DEFENDER_MACHINES)
            .json(200, r#"{"value":[{"id":"b89eb834","type":"Isolate","status":"Succeeded","creationDateTimeUtc":"2024-05-01T10:00:00.1234567Z"},{"id":"c0ffee00","type":"Unisolate","status":"Failed","creationDateTimeUtc":"2024-05-02T10:00:00Z"}]}"#),
        seed("defender-isolate", "defender", "isolate-host", 1).json(201, DEFENDER_ACTION),
        seed("defender-quarantine-file", "defender", "quarantine-file", 1)
            .json(200, &format!(r#"{{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Files/$entity","sha1":"3395856ce81f2b7382dee72602f798b642f14140","sha256":"{SHA256}","md5":"44d88612fea8a8f36de82e1278abb02f","globalPrevalence":1,"size":68,"isPeFile":false}}"#))
            .json(201, &DEFENDER_ACTION.replace("\"Isolate\"", "\"StopAndQuarantineFile\"")),
        seed("defender-already-in-progress", "defender", "release-host", 1)
            .json(400, r#"{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"43f3c7a4-8b0d-4f2c-9c39-5f0c2b0e6a11"}}"#)
            .fails_with("defender release machine: Action is already in progress"),
        // Threat intelligence.
        seed("abuseipdb-check", "abuseipdb", "lookup", 0).json(200, ABUSEIPDB_REPORTED),
        seed("abuseipdb-check-ipv6-whitelisted", "abuseipdb", "lookup", 1)
            .json(200, r#"{"data":{"ipAddress":"2001:db8::7","isPublic":false,"ipVersion":6,"isWhitelisted":true,"abuseConfidenceScore":0,"countryCode":null,"usageType":null,"isp":null,"domain":null,"hostnames":[],"totalReports":0,"numDistinctUsers":0,"lastReportedAt":null}}"#),
        seed("abuseipdb-bad-parameter", "abuseipdb", "lookup", 0)
            .json(422, r#"{"errors":[{"detail":"The max age in days must be between 1 and 365.","source":{"parameter":"maxAgeInDays"},"status":422}]}"#)
            .fails_with("The max age in days"),
        seed("abuseipdb-domain-unsupported", "abuseipdb", "lookup", 2).fails_with("abuseipdb"),
        seed("virustotal-ip", "virustotal", "lookup", 0).json(
            200,
            &virustotal(
                "ip_address",
                "203.0.113.7",
                r#"{"harmless":60,"malicious":8,"suspicious":2,"undetected":20,"timeout":0}"#,
                r#"["scanner"]"#,
            ),
        ),
        seed("virustotal-url", "virustotal", "lookup", 3).json(
            200,
            &virustotal(
                "url",
                "aHR0cDovL2V2aWwuZXhhbXBsZS9sb2dpbj9uZXh0PS8",
                r#"{"harmless":65,"malicious":0,"suspicious":0,"undetected":25,"timeout":1}"#,
                "[]",
            ),
        ),
        seed("virustotal-file", "virustotal", "lookup", 4).json(
            200,
            &virustotal(
                "file",
                SHA256,
                r#"{"harmless":0,"type-unsupported":4,"suspicious":0,"confirmed-timeout":0,"timeout":0,"failure":0,"malicious":62,"undetected":10}"#,
                r#"["text","eicar"]"#,
            ),
        ),
        seed("virustotal-never-seen", "virustotal", "lookup", 2)
            .json(404, r#"{"error":{"code":"NotFoundError","message":"Domain \"evil.example\" not found"}}"#)
            .fails_with("virustotal"),
        seed("misp-to-ids-match", "misp", "lookup", 0).json(200, MISP_FOUND),
        seed("misp-no-match", "misp", "lookup", 2).json(200, r#"{"response":{"Attribute":[]}}"#),
        seed("misp-key-refused", "misp", "lookup", 5)
            .json(403, r#"{"name":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","message":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","url":"\/attributes\/restSearch"}"#)
            .fails_with("misp"),
        // Cloudflare IP Access Rules, in Cloudflare's envelope.
        seed("cloudflare-block-ip", "cloudflare", "block-ip", 0).json(200, CLOUDFLARE_RULE),
        seed("cloudflare-block-duplicate", "cloudflare", "block-ip", 0)
            .json(400, CLOUDFLARE_DUPLICATE)
            .json(200, CLOUDFLARE_LISTED),
        seed("cloudflare-unblock-ip", "cloudflare", "unblock-ip", 0)
            .json(200, CLOUDFLARE_LISTED)
            .json(200, r#"{"result":{"id":"92f17202ed8bd63d69a66b86a49a8f6b"},"success":true,"errors":[],"messages":[]}"#),
        seed("cloudflare-account-block-range", "cloudflare-account", "block-ip", 1).json(
            200,
            &CLOUDFLARE_RULE
                .replace(r#""target":"ip","value":"203.0.113.7""#, r#""target":"ip_range","value":"198.51.100.0/24""#)
                .replace(r#""type":"zone""#, r#""type":"account""#),
        ),
        seed("cloudflare-success-false", "cloudflare", "block-ip", 3)
            .json(200, r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Service unavailable"}],"messages":[]}"#)
            .fails_with("cloudflare"),
        // Ticketing.
        seed("thehive-create-alert", "thehive", "create", 0).json(
            201,
            r#"{"_id":"~41040","_type":"Alert","_createdBy":"palisade@acme","_createdAt":1717000000000,"type":"palisade","source":"palisade","sourceRef":"x","title":"Password spray","severity":4,"status":"New","observableCount":5}"#,
        ),
        seed("thehive-create-case-with-observables", "thehive-case", "create", 1)
            .json(201, r#"{"_id":"~1234","_type":"Case","number":17,"title":"Password spray","severity":3,"status":"New"}"#)
            .json(201, r#"[{"_id":"~5001","dataType":"ip","data":"203.0.113.7"}]"#),
        seed("thehive-comment", "thehive", "comment", 1)
            .json(201, r#"{"_id":"~8200","message":"Sessions revoked for alice."}"#),
        seed("thehive-comment-missing-case", "thehive-case", "comment", 1)
            .json(404, r#"{"type":"NotFoundError","message":"Case ~4104 not found"}"#)
            .fails_with("thehive add comment: Case ~4104 not found"),
        seed("jira-create-issue", "jira", "create", 0)
            .json(201, r#"{"id":"10024","key":"SEC-24","self":"https://acme.atlassian.net/rest/api/3/issue/10024"}"#),
        seed("jira-comment", "jira", "comment", 0)
            .json(201, r#"{"id":"10100","self":"https://acme.atlassian.net/rest/api/3/issue/10024/comment/10100","body":{"type":"doc","version":1,"content":[]}}"#),
        seed("jira-create-refused", "jira", "create", 1)
            .json(400, r#"{"errorMessages":[],"errors":{"issuetype":"Specify a valid issue type","project":"valid project is required"}}"#)
            .fails_with("jira create issue"),
        seed("jira-unauthenticated-echoing-basic", "jira", "comment", 0)
            .reply(Reply::text(401, "Client must be authenticated to access this resource. Got: $AUTH$"))
            .fails_with("[redacted]"),
        seed("servicenow-create-incident", "servicenow", "create", 0)
            .json(201, &format!(r#"{{"result":{{"sys_id":"{sys_id}","number":"INC0010001"}}}}"#)),
        seed("servicenow-comment-by-number", "servicenow", "comment", 2)
            .json(200, &format!(r#"{{"result":[{{"sys_id":"{sys_id}"}}]}}"#))
            .json(200, &format!(r#"{{"result":{{"sys_id":"{sys_id}"}}}}"#)),
        seed("servicenow-token-comment-by-sys-id", "servicenow-token", "comment", 3)
            .json(200, &format!(r#"{{"result":{{"sys_id":"{sys_id}"}}}}"#)),
        seed("servicenow-no-record", "servicenow", "comment", 3)
            .json(404, r#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#)
            .fails_with("servicenow"),
        // Notifications.
        seed("slack-post-message", "slack", "send", 0)
            .json(200, r#"{"ok":true,"channel":"C0123456789","ts":"1503435956.000247","message":{"text":"x","type":"message","subtype":"bot_message","ts":"1503435956.000247"},"warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}"#),
        seed("slack-missing-scope", "slack", "send", 1)
            .json(200, r#"{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"channels:read"}"#)
            .fails_with("slack post message: missing_scope"),
        seed("slack-webhook-ok", "slack-webhook", "send", 0).reply(Reply::text(200, "ok")),
        seed("slack-webhook-no-service", "slack-webhook", "send", 0)
            .reply(Reply::text(404, "no_service"))
            .fails_with("no_service"),
        seed("teams-incoming-webhook", "teams", "send", 1).reply(Reply::text(200, "1")),
        seed("teams-workflow-accepted", "teams", "send", 0).reply(Reply {
            content_type: None,
            ..Reply::json(202, "")
        }),
        seed("teams-delivery-failed-in-a-200", "teams", "send", 0)
            .reply(Reply::text(200, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc1-4-170,cv=deadbeef.0."))
            .fails_with("teams"),
        // SIEM searches.
        seed("elasticsearch-search", "elasticsearch", "search", 2).json(200, ELASTIC_HITS),
        seed("elasticsearch-query-refused", "elasticsearch", "search", 2)
            .json(400, r#"{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [source.ip:(]","index":"logs"}],"type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true,"failed_shards":[]},"status":400}"#)
            .fails_with("elasticsearch"),
        seed("opensearch-search", "opensearch", "search", 0).json(200, ELASTIC_HITS),
        seed("splunk-oneshot", "splunk", "search", 0).json(200, SPLUNK_RESULTS),
        seed("splunk-tstats", "splunk", "search", 1).json(
            200,
            r#"{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"host"},{"name":"count"}],"results":[{"host":"bastion-1","count":"42"}],"highlighted":{}}"#,
        ),
        seed("splunk-fatal-message", "splunk", "search", 0)
            .json(200, r#"{"messages":[{"type":"FATAL","text":"Error in 'search' command: Unable to parse the search: unbalanced parentheses."}]}"#)
            .fails_with("splunk search"),
    ]
}

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/backend_reply")
}

#[test]
fn every_seed_reaches_its_documented_end_and_is_committed_as_written() {
    let write = std::env::var_os("PALISADE_WRITE_SEEDS").is_some();
    let mut failures = Vec::new();
    for seed in seeds() {
        let data = encode(
            seed.connector,
            seed.operation,
            seed.argument,
            seed.token_replies,
            &seed.replies,
        );
        let path = corpus().join(seed.name);
        if write {
            std::fs::write(&path, &data).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(&data) {
            failures.push(format!(
                "{}: the committed seed differs (PALISADE_WRITE_SEEDS=1 rewrites it)",
                seed.name
            ));
        }
        let run = run(&data).expect("a seed picks an operation");
        assert_eq!((run.connector, run.operation), (seed.connector, seed.operation));
        if std::env::var_os("PALISADE_SHOW_SEEDS").is_some() {
            eprintln!("{}: {:?}\n  {:?}", seed.name, run.result, run.requests);
        }
        let ended = match (&seed.end, &run.result) {
            (End::Value, Ok(_)) => true,
            (End::Error(text), Err(message)) => message.contains(text),
            _ => false,
        };
        if !ended {
            failures.push(format!(
                "{}: {:?} after {:?}",
                seed.name, run.result, run.requests
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The seeds whose vendor echoes a credential into an error, and the reproducers the campaign
/// found: none of it may reach the message.
#[test]
fn echoed_credentials_are_redacted() {
    // The seeds written to echo, and the reproducers the campaign found (`leak-*`).
    let mut inputs: Vec<(String, Vec<u8>)> = seeds()
        .iter()
        .filter(|seed| seed.name.contains("-echoing-"))
        .map(|seed| {
            let data = encode(
                seed.connector,
                seed.operation,
                seed.argument,
                seed.token_replies,
                &seed.replies,
            );
            (seed.name.to_owned(), data)
        })
        .collect();
    let found = Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts/backend_reply");
    for entry in std::fs::read_dir(found).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("leak-") {
            inputs.push((name, std::fs::read(&path).unwrap()));
        }
    }
    let leaks: Vec<String> = inputs
        .iter()
        .filter_map(|(name, data)| {
            let run = run(data).expect("an input that picks an operation");
            run.leak.map(|part| format!("{name}: {part} in {:?}", run.result))
        })
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// The leak check finds a credential echoed whole, in part, or base64-encoded, and not one
/// the vendor's own text spells.
#[test]
fn the_leak_check_sees_an_echoed_credential() {
    // The check on its own: the connectors redact what it looks for, so no run shows a leak.
    let echoing = encode(
        "slack",
        "send",
        0,
        false,
        &[Reply::json(200, r#"{"ok":false,"error":"$AUTH$"}"#)],
    );
    for credential in credentials() {
        let start: String = credential.chars().take(8).collect();
        for message in [
            format!("slack post message: {credential}"),
            format!("cut at {start}…"),
        ] {
            assert!(leak(&message, &echoing).is_some(), "{message}");
        }
        // The input spells it: the vendor's own text, not an echo.
        let spelling = encode("slack", "send", 0, false, &[Reply::json(200, credential)]);
        assert!(leak(&format!("slack post message: {credential}"), &spelling).is_none());
    }
    assert!(leak("slack post message: not_in_channel", &echoing).is_none());
    // And the echo is redacted, so the run reports none.
    let run = run(&echoing).expect("an operation");
    assert!(
        run.leak.is_none() && matches!(&run.result, Err(m) if m.contains("[redacted]")),
        "{run:?}"
    );
}

#[test]
fn every_connector_has_a_seed() {
    let seeds = seeds();
    for connector in connector_names() {
        assert!(
            seeds.iter().any(|seed| seed.connector == connector),
            "{connector} has no seed"
        );
    }
}
