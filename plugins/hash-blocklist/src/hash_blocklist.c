// `hash-blocklist`: quarantines files whose SHA-256 is on a blocklist (respond stage).
//
// For every SHA-256 file hash in the alert, the plugin looks the digest up in its blocklist
// (kv, one key per digest: blocklist.h). A digest that is not listed is learned when an
// earlier stage's verdict on the alert is malicious, or else when threat intel says it is
// malicious. Each listed digest is then quarantined, with endpoint.quarantine-file, on every
// host of the alert (host entities and the hosts of process entities); the host's policy
// gate decides whether that is executed, held for approval, refused or simulated, and each
// receipt is noted. MD5 and SHA-1 hashes are counted and left alone: quarantine-file takes
// a SHA-256. Values that are not 64 lower-case hex characters are counted and never passed
// on, to kv, intel or the EDR.
//
// Settings (`[plugins.hash-blocklist.settings]`, all optional):
// - `seed`: SHA-256 digests separated by commas or white space, loaded into the blocklist
//   when kv does not already hold exactly this seed (at most 128 digests);
// - `learn_ttl_hours` (default 720, 30 days): how long a learned digest stays listed; 0:
//   for good;
// - `intel` (default `on`): `off` stops the intel lookups, for an admin who does not grant
//   `intel.lookup` and wants no denied call in the audit for every alert.
//
// Notes: `hashes_checked`, `hashes_ignored` (MD5/SHA-1), `hashes_malformed`,
// `hashes_skipped` (beyond 32 per alert), `hosts_skipped`; `listed:<sha256>` (why the digest
// is listed: the kv entry's value, or why it was learned now); `learned` (how many);
// `endpoint.quarantine-file:<host>:<sha256>` (the receipt's status: `executed`, `simulated`,
// `held: <approval id>`, `refused: <reason>`, or `error: <kind>: <message>`); `quarantined`
// (`<executed> of <attempted>`), or `hosts` when the alert names none; `seed` (`<n> loaded,
// <m> removed` when the seed was loaded, or the error), `seed_rejected`; errors: `intel`
// (denied), `intel:<sha256>`, `blocklist` (kv.get failed), `learn:<sha256>` (kv.set failed).
// Tags: `hash-blocklist` when a digest is listed, `quarantined` when a quarantine executed,
// `awaiting-approval` when one is held. Verdict malicious and risk 90 when a digest is listed.

#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "blocklist.h"
#include "report.h"

#define PLUGIN_NAME "hash-blocklist"
#define PLUGIN_VERSION "0.1.0"

// An alert is untrusted input: these bound what one alert can make the plugin do. 32 digests
// on 16 hosts is more than any real detection carries, and the host's own limits
// (destructive operations, host calls) stop a run long before 512 quarantines anyway.
#define MAX_HASHES 32
#define MAX_HOSTS 16
// RFC 1035's limit on a full name; anything longer is not a hostname an EDR knows.
#define MAX_HOSTNAME 253

#define DEFAULT_LEARN_TTL_HOURS 720u
// So that hours * 3600 fits kv's u32 seconds.
#define MAX_LEARN_TTL_HOURS (UINT32_MAX / 3600u)

static const char *const CAPABILITIES[] = {
    "kv.get", "kv.set", "kv.delete", "intel.lookup", "endpoint.quarantine-file",
};

void exports_action_describe(action_plugin_info_t *ret) {
    // Returned strings are freed by the bindings' post-return function: duplicated, not set.
    action_string_dup(&ret->name, PLUGIN_NAME);
    action_string_dup(&ret->version, PLUGIN_VERSION);
    action_string_dup(&ret->description,
                      "Quarantines files whose SHA-256 is on a blocklist kept in kv, seeded from settings and "
                      "learned from malicious verdicts and threat intel");
    size_t count = sizeof CAPABILITIES / sizeof CAPABILITIES[0];
    ret->capabilities.ptr = xmalloc(count * sizeof ret->capabilities.ptr[0]);
    ret->capabilities.len = count;
    for (size_t i = 0; i < count; i++) {
        action_string_dup(&ret->capabilities.ptr[i], CAPABILITIES[i]);
    }
}

// ---------------------------------------------------------------------------------------
// Settings.

typedef struct {
    action_string_t seed; // owned; {NULL, 0} when not set
    uint32_t learn_ttl_seconds;
    bool intel;
} settings_t;

// config.get: true with the value, which the caller frees.
static bool setting(const char *name, action_string_t *value) {
    action_string_t key = {(uint8_t *)name, strlen(name)};
    return palisade_action_config_get(&key, value);
}

static bool text_is(const action_string_t *text, const char *word) {
    return text->len == strlen(word) && memcmp(text->ptr, word, text->len) == 0;
}

// Reads the settings; NULL, or why they are invalid (the caller frees it).
static char *read_settings(settings_t *settings) {
    *settings = (settings_t){{NULL, 0}, DEFAULT_LEARN_TTL_HOURS * 3600u, true};
    if (!setting("seed", &settings->seed)) {
        settings->seed = (action_string_t){NULL, 0};
    }

    action_string_t value;
    if (setting("learn_ttl_hours", &value)) {
        uint32_t hours = 0;
        bool valid = value.len > 0 && value.len <= 10;
        for (size_t i = 0; valid && i < value.len; i++) {
            uint8_t c = value.ptr[i];
            valid = c >= '0' && c <= '9' && hours <= (MAX_LEARN_TTL_HOURS - (uint32_t)(c - '0')) / 10u;
            hours = valid ? hours * 10u + (uint32_t)(c - '0') : hours;
        }
        char *shown = valid ? NULL : copy_text(&value, 40);
        action_string_free(&value);
        if (!valid) {
            char *problem = format("setting `learn_ttl_hours` = \"%s\" is invalid: it is a whole number of hours "
                                   "from 0 to %u",
                                   shown, MAX_LEARN_TTL_HOURS);
            free(shown);
            return problem;
        }
        settings->learn_ttl_seconds = hours * 3600u;
    }

    if (setting("intel", &value)) {
        bool on = text_is(&value, "on");
        bool off = text_is(&value, "off");
        char *shown = on || off ? NULL : copy_text(&value, 40);
        action_string_free(&value);
        if (shown != NULL) {
            char *problem = format("setting `intel` = \"%s\" is invalid: it is on or off", shown);
            free(shown);
            return problem;
        }
        settings->intel = on;
    }
    return NULL;
}

// ---------------------------------------------------------------------------------------
// What the alert holds.

typedef struct {
    sha256_t hashes[MAX_HASHES];
    size_t hash_count;
    // Borrowed from the alert, which outlives them: the alert is freed last.
    const action_string_t *hosts[MAX_HOSTS];
    size_t host_count;
    size_t ignored;   // MD5 and SHA-1
    size_t malformed; // "sha256" values that are not 64 lower-case hex
    size_t hashes_skipped;
    size_t hosts_skipped;
} evidence_t;

static bool same_host(const action_string_t *a, const action_string_t *b) {
    if (a->len != b->len) {
        return false;
    }
    for (size_t i = 0; i < a->len; i++) {
        uint8_t x = a->ptr[i], y = b->ptr[i];
        if (x >= 'A' && x <= 'Z') {
            x = (uint8_t)(x + ('a' - 'A'));
        }
        if (y >= 'A' && y <= 'Z') {
            y = (uint8_t)(y + ('a' - 'A'));
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

// A hostname to pass to the EDR: 1 to 253 printable bytes, no spaces.
static bool plausible_hostname(const action_string_t *name) {
    if (name->len == 0 || name->len > MAX_HOSTNAME) {
        return false;
    }
    for (size_t i = 0; i < name->len; i++) {
        if (name->ptr[i] <= ' ' || name->ptr[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

static void add_host(evidence_t *evidence, const action_string_t *name) {
    if (!plausible_hostname(name)) {
        evidence->hosts_skipped++;
        return;
    }
    for (size_t i = 0; i < evidence->host_count; i++) {
        if (same_host(evidence->hosts[i], name)) {
            return; // the same machine as a host entity and as a process's host
        }
    }
    if (evidence->host_count == MAX_HOSTS) {
        evidence->hosts_skipped++;
        return;
    }
    evidence->hosts[evidence->host_count++] = name;
}

static void add_hash(evidence_t *evidence, const palisade_action_types_file_hash_t *hash) {
    if (hash->algorithm != PALISADE_ACTION_TYPES_HASH_ALGORITHM_SHA256) {
        evidence->ignored++;
        return;
    }
    sha256_t digest;
    if (!sha256_parse(hash->value.ptr, hash->value.len, &digest)) {
        evidence->malformed++;
        return;
    }
    for (size_t i = 0; i < evidence->hash_count; i++) {
        if (memcmp(evidence->hashes[i].hex, digest.hex, SHA256_HEX_LEN) == 0) {
            return;
        }
    }
    if (evidence->hash_count == MAX_HASHES) {
        evidence->hashes_skipped++;
        return;
    }
    evidence->hashes[evidence->hash_count++] = digest;
}

static void gather(const action_alert_t *alert, evidence_t *evidence) {
    memset(evidence, 0, sizeof *evidence);
    for (size_t i = 0; i < alert->entities.len; i++) {
        const palisade_action_types_entity_t *entity = &alert->entities.ptr[i];
        switch (entity->tag) {
        case PALISADE_ACTION_TYPES_ENTITY_FILE_HASH:
            add_hash(evidence, &entity->val.file_hash);
            break;
        case PALISADE_ACTION_TYPES_ENTITY_HOST:
            add_host(evidence, &entity->val.host.hostname);
            break;
        case PALISADE_ACTION_TYPES_ENTITY_PROCESS:
            if (entity->val.process.host.is_some) {
                add_host(evidence, &entity->val.process.host.val);
            }
            break;
        default:
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deciding which digests are listed.

typedef struct {
    const sha256_t *digest;
    char *why; // owned until it moves into the `listed:` note
} listed_t;

// Asks intel about `digest`; true when it says malicious. `score` gets the report's score.
// Clears `*intel_on` when the lookup is denied: every other lookup would be denied too.
static bool intel_says_malicious(report_t *report, const sha256_t *digest, bool *intel_on, uint8_t *score) {
    palisade_action_intel_indicator_t indicator;
    indicator.tag = PALISADE_ACTION_INTEL_INDICATOR_FILE_HASH;
    indicator.val.file_hash = (action_string_t){(uint8_t *)digest->hex, SHA256_HEX_LEN};
    palisade_action_intel_report_t found;
    palisade_action_intel_action_error_t error;
    if (!palisade_action_intel_lookup(&indicator, &found, &error)) {
        if (error.tag == PALISADE_ACTION_TYPES_ACTION_ERROR_DENIED) {
            *intel_on = false;
            report_note(report, format("intel"), error_text(&error));
        } else if (error.tag != PALISADE_ACTION_TYPES_ACTION_ERROR_NOT_FOUND) {
            // Not found is the usual answer for a file nobody has seen: no note for it.
            report_note(report, format("intel:%s", digest->hex), error_text(&error));
        }
        palisade_action_intel_action_error_free(&error);
        return false;
    }
    bool malicious = found.reputation == PALISADE_ACTION_INTEL_REPUTATION_MALICIOUS;
    *score = found.score;
    palisade_action_intel_report_free(&found);
    return malicious;
}

// The digests of the alert that are listed, learning the ones the verdict or intel condemn,
// into `listed` (room for MAX_HASHES). Returns how many were learned.
static size_t decide(report_t *report, const action_alert_t *alert, const evidence_t *evidence,
                     const settings_t *settings, listed_t *listed, size_t *listed_count) {
    bool verdict_malicious =
        alert->verdict.is_some && alert->verdict.val == PALISADE_ACTION_TYPES_VERDICT_MALICIOUS;
    bool intel_on = settings->intel;
    bool blocklist_failed = false;
    size_t learned = 0;
    // The alert id goes into kv as provenance; it is the alert's text, so it is cut and cleaned.
    char *alert_id = copy_text(&alert->id, 120);

    for (size_t i = 0; i < evidence->hash_count; i++) {
        const sha256_t *digest = &evidence->hashes[i];
        char *why = NULL;
        lookup_t found = blocklist_lookup(digest, &why);
        if (found == LOOKUP_LISTED) {
            listed[(*listed_count)++] = (listed_t){digest, why};
            continue;
        }
        if (found == LOOKUP_ERROR) {
            // kv not granted or failing: without the list only the verdict and intel can
            // condemn a digest. Noted once: the other lookups fail the same way.
            if (!blocklist_failed) {
                report_note(report, format("blocklist"), why);
                blocklist_failed = true;
            } else {
                free(why);
            }
        }

        char *learned_from = NULL;
        uint8_t score = 0;
        if (verdict_malicious) {
            learned_from = format("learned from alert %s: an earlier stage's verdict was malicious", alert_id);
        } else if (intel_on && intel_says_malicious(report, digest, &intel_on, &score)) {
            learned_from = format("learned from alert %s: intel says malicious (score %u)", alert_id, score);
        }
        if (learned_from == NULL) {
            continue;
        }
        char *error = blocklist_add(digest, learned_from, settings->learn_ttl_seconds);
        if (error != NULL) {
            // Still quarantined now, since it was condemned now; only the memory of it failed.
            report_notef(report, format("learn:%s", digest->hex), "error: %s", error);
            free(error);
        } else {
            learned++;
        }
        listed[(*listed_count)++] = (listed_t){digest, learned_from};
    }
    free(alert_id);
    return learned;
}

// ---------------------------------------------------------------------------------------
// Quarantine.

typedef struct {
    size_t attempted, executed, simulated, held, refused, failed;
} tally_t;

// Quarantines every listed digest on every host; stops at a denial or a spent limit, after
// which every further call would fail the same way.
static void quarantine(report_t *report, const evidence_t *evidence, const listed_t *listed, size_t listed_count,
                       tally_t *tally) {
    bool stop = false;
    for (size_t i = 0; i < listed_count && !stop; i++) {
        const sha256_t *digest = listed[i].digest;
        char *reason_text = format("sha256 %s is on the hash blocklist", digest->hex);
        action_string_t reason = {(uint8_t *)reason_text, strlen(reason_text)};
        action_string_t sha256 = {(uint8_t *)digest->hex, SHA256_HEX_LEN};

        for (size_t h = 0; h < evidence->host_count && !stop; h++) {
            // The alert's own string, borrowed by the import like every argument.
            action_string_t *hostname = (action_string_t *)evidence->hosts[h];
            char *host_text = copy_text(hostname, MAX_HOSTNAME);
            char *key = format("endpoint.quarantine-file:%s:%s", host_text, digest->hex);
            free(host_text);

            palisade_action_endpoint_receipt_t receipt;
            palisade_action_endpoint_action_error_t error;
            tally->attempted++;
            if (!palisade_action_endpoint_quarantine_file(hostname, &sha256, &reason, &receipt, &error)) {
                tally->failed++;
                stop = error.tag == PALISADE_ACTION_TYPES_ACTION_ERROR_DENIED ||
                       error.tag == PALISADE_ACTION_TYPES_ACTION_ERROR_LIMIT_EXCEEDED;
                char *problem = error_text(&error);
                report_notef(report, key, "error: %s", problem);
                free(problem);
                palisade_action_endpoint_action_error_free(&error);
                continue;
            }
            switch (receipt.status.tag) {
            case PALISADE_ACTION_TYPES_ACTION_STATUS_EXECUTED:
                tally->executed++;
                report_note(report, key, format("executed"));
                break;
            case PALISADE_ACTION_TYPES_ACTION_STATUS_SIMULATED:
                tally->simulated++;
                report_note(report, key, format("simulated"));
                break;
            case PALISADE_ACTION_TYPES_ACTION_STATUS_HELD: {
                tally->held++;
                char *approval = copy_text(&receipt.status.val.held, 120);
                report_notef(report, key, "held: %s", approval);
                free(approval);
                break;
            }
            default: {
                tally->refused++;
                char *why = copy_text(&receipt.status.val.refused, 300);
                report_notef(report, key, "refused: %s", why);
                free(why);
                break;
            }
            }
            palisade_action_endpoint_receipt_free(&receipt);
        }
        free(reason_text);
    }
}

// ---------------------------------------------------------------------------------------
// The export.

static void conclude(report_t *report, const evidence_t *evidence, size_t listed_count, size_t learned,
                     const tally_t *tally) {
    action_outcome_t *outcome = &report->outcome;
    if (learned > 0) {
        report_notef(report, format("learned"), "%zu", learned);
    }
    if (listed_count == 0) {
        outcome->summary.is_some = true;
        outcome->summary.val = take_string(
            format("none of the %zu SHA-256 file hashes is on the blocklist", evidence->hash_count));
        return;
    }
    outcome->verdict.is_some = true;
    outcome->verdict.val = PALISADE_ACTION_TYPES_VERDICT_MALICIOUS;
    outcome->risk_score.is_some = true;
    outcome->risk_score.val = 90;
    report_tag(report, PLUGIN_NAME);
    if (tally->executed > 0) {
        report_tag(report, "quarantined");
    }
    if (tally->held > 0) {
        report_tag(report, "awaiting-approval");
    }
    if (evidence->host_count == 0) {
        report_note(report, format("hosts"), format("none in the alert: nothing to quarantine"));
    } else {
        report_notef(report, format("quarantined"), "%zu of %zu", tally->executed, tally->attempted);
    }
    outcome->summary.is_some = true;
    outcome->summary.val = take_string(format(
        "%zu blocklisted file hash(es) on %zu host(s): quarantine executed %zu, simulated %zu, held %zu, "
        "refused %zu, failed %zu",
        listed_count, evidence->host_count, tally->executed, tally->simulated, tally->held, tally->refused,
        tally->failed));
}

bool exports_action_handle(action_alert_t *alert, action_outcome_t *ret, action_action_error_t *err) {
    settings_t settings;
    char *problem = read_settings(&settings);
    if (problem != NULL) {
        action_string_free(&settings.seed);
        palisade_action_types_alert_free(alert); // the alert is ours to free, whatever happens
        set_error(err, PALISADE_ACTION_TYPES_ACTION_ERROR_INVALID_INPUT, problem);
        return false;
    }

    report_t report;
    memset(&report, 0, sizeof report);
    blocklist_seed(&report, &settings.seed);

    evidence_t evidence;
    gather(alert, &evidence);
    report_notef(&report, format("hashes_checked"), "%zu", evidence.hash_count);
    if (evidence.ignored > 0) {
        report_notef(&report, format("hashes_ignored"), "%zu MD5/SHA-1 (quarantine-file takes a SHA-256)",
                     evidence.ignored);
    }
    if (evidence.malformed > 0) {
        report_notef(&report, format("hashes_malformed"), "%zu", evidence.malformed);
        log_line(PALISADE_ACTION_LOG_LEVEL_WARN, "%zu sha256 values are not 64 lower-case hex characters",
                 evidence.malformed);
    }
    if (evidence.hashes_skipped > 0) {
        report_notef(&report, format("hashes_skipped"), "%zu beyond the first %d", evidence.hashes_skipped,
                     MAX_HASHES);
    }
    if (evidence.hosts_skipped > 0) {
        report_notef(&report, format("hosts_skipped"), "%zu (malformed, or beyond the first %d)",
                     evidence.hosts_skipped, MAX_HOSTS);
    }

    listed_t listed[MAX_HASHES];
    size_t listed_count = 0;
    size_t learned = decide(&report, alert, &evidence, &settings, listed, &listed_count);
    for (size_t i = 0; i < listed_count; i++) {
        report_note(&report, format("listed:%s", listed[i].digest->hex), listed[i].why); // moves `why`
    }

    tally_t tally = {0, 0, 0, 0, 0, 0};
    quarantine(&report, &evidence, listed, listed_count, &tally);
    conclude(&report, &evidence, listed_count, learned, &tally);

    action_string_free(&settings.seed);
    // Last: `evidence` borrows the alert's hostnames until here.
    palisade_action_types_alert_free(alert);
    *ret = report.outcome;
    return true;
}
