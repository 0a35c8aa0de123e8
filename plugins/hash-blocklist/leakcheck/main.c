// The leak check: runs the plugin's exports natively, against fake_host.c, on alerts that
// take every path (seed loaded, changed and removed; learned from a verdict and from intel;
// every receipt status; denied, failing and refused calls; malformed digests and hosts; the
// per-alert caps; invalid settings), and frees what the host would free. Built with
// AddressSanitizer, it fails on a leak, a double free or an out-of-bounds read; the few
// expectations below make sure each path was really taken.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "fake_host.h"

#define DROPPER "3519085147f5809bf270fae2b66a188bf08c794acedd860dc4dfd36f099e656c"
#define LOADER "aede36f6ad3f8fa2e960ce6df63a878daa2b4015d5979d79456ed7be14f1f683"
#define UNKNOWN "ed4b1cc6d26c2cb4689f839699922f40d4ed910513537fe37cfa66685cf4ee9d"
#define FLAKY "e000000000000000000000000000000000000000000000000000000000000000"

static int failures;

static action_string_t text(const char *value) {
    action_string_t out;
    action_string_dup(&out, value);
    return out;
}

static action_option_string_t some(const char *value) {
    return (action_option_string_t){true, text(value)};
}

// An alert the way the bindings lift one: every string and list malloc'd.
typedef struct {
    palisade_action_types_entity_t *entities;
    size_t len;
} entities_t;

static void add(entities_t *list, palisade_action_types_entity_t entity) {
    list->entities = realloc(list->entities, (list->len + 1) * sizeof entity);
    list->entities[list->len++] = entity;
}

static palisade_action_types_entity_t host(const char *name) {
    palisade_action_types_entity_t entity = {.tag = PALISADE_ACTION_TYPES_ENTITY_HOST};
    entity.val.host.hostname = text(name);
    entity.val.host.fqdn = some("host.example.com");
    entity.val.host.ip_addresses.ptr = malloc(sizeof(action_string_t));
    entity.val.host.ip_addresses.ptr[0] = text("10.0.0.7");
    entity.val.host.ip_addresses.len = 1;
    return entity;
}

static palisade_action_types_entity_t process_on(const char *name) {
    palisade_action_types_entity_t entity = {.tag = PALISADE_ACTION_TYPES_ENTITY_PROCESS};
    entity.val.process.name = text("invoice.exe");
    entity.val.process.command_line = some("invoice.exe /quiet");
    entity.val.process.host = some(name);
    return entity;
}

static palisade_action_types_entity_t digest(uint8_t algorithm, const char *value, size_t len) {
    palisade_action_types_entity_t entity = {.tag = PALISADE_ACTION_TYPES_ENTITY_FILE_HASH};
    entity.val.file_hash.algorithm = algorithm;
    action_string_dup_n(&entity.val.file_hash.value, value, len);
    entity.val.file_hash.file_name = some("invoice.exe");
    return entity;
}

static palisade_action_types_entity_t sha256(const char *value) {
    return digest(PALISADE_ACTION_TYPES_HASH_ALGORITHM_SHA256, value, strlen(value));
}

static palisade_action_types_entity_t user(const char *name) {
    palisade_action_types_entity_t entity = {.tag = PALISADE_ACTION_TYPES_ENTITY_USER};
    entity.val.user.name = text(name);
    entity.val.user.email = some("alice@example.com");
    return entity;
}

static bool has_note(const action_outcome_t *outcome, const char *key, const char *value) {
    for (size_t i = 0; i < outcome->notes.len; i++) {
        const palisade_action_types_note_t *note = &outcome->notes.ptr[i];
        if (note->key.len == strlen(key) && memcmp(note->key.ptr, key, note->key.len) == 0) {
            return value == NULL ||
                   (note->value.len == strlen(value) && memcmp(note->value.ptr, value, note->value.len) == 0);
        }
    }
    return false;
}

static void expect(bool holds, const char *alert, const char *what) {
    if (!holds) {
        fprintf(stderr, "%s: expected %s\n", alert, what);
        failures++;
    }
}

// Runs handle() on an alert with these entities; `verdict` < 0: none. Checks the notes
// listed as key, value pairs (value NULL: present), and that an error comes back when
// `fails`. Frees the outcome or error as the post-return function does.
static void run(const char *id, entities_t entities, int verdict, bool fails, const char *const *notes) {
    action_alert_t alert = {0};
    alert.id = text(id);
    alert.title = text("Suspicious binary executed");
    alert.source_product = text("EDR");
    alert.rule_id = some("edr-exec-17");
    alert.category = text("malware");
    alert.timestamp = text("2026-11-26T11:04:00Z");
    alert.raw = text("{}");
    alert.entities.ptr = entities.entities;
    alert.entities.len = entities.len;
    alert.tags.ptr = malloc(sizeof(action_string_t));
    alert.tags.ptr[0] = text("edr");
    alert.tags.len = 1;
    if (verdict >= 0) {
        alert.verdict = (palisade_action_types_option_verdict_t){true, (uint8_t)verdict};
    }

    action_outcome_t outcome;
    action_action_error_t error;
    bool ok = exports_action_handle(&alert, &outcome, &error);
    expect(ok != fails, id, fails ? "an error" : "an outcome");
    if (ok) {
        for (size_t i = 0; notes != NULL && notes[i] != NULL; i += 2) {
            if (!has_note(&outcome, notes[i], notes[i + 1])) {
                fprintf(stderr, "%s: expected the note %s = %s\n", id, notes[i], notes[i + 1] ? notes[i + 1] : "*");
                failures++;
            }
        }
        palisade_action_types_outcome_free(&outcome);
    } else {
        palisade_action_types_action_error_free(&error);
    }
}

int main(void) {
    action_plugin_info_t info;
    exports_action_describe(&info);
    expect(info.capabilities.len == 5, "describe", "5 capabilities");
    palisade_action_types_plugin_info_free(&info);

    // Seed loaded, intel learns one digest, another's lookup fails, every receipt status.
    fake.seed = DROPPER ", not-a-digest,\n " LOADER;
    fake.malicious = UNKNOWN;
    entities_t first = {0};
    add(&first, host("laptop-7"));
    add(&first, process_on("held-dc-01"));
    add(&first, process_on("LAPTOP-7"));
    add(&first, host("refuse-1"));
    add(&first, host("sim-1"));
    add(&first, host("fail-1"));
    add(&first, host(""));
    add(&first, user("alice"));
    add(&first, sha256(DROPPER));
    add(&first, sha256(UNKNOWN));
    add(&first, sha256(FLAKY));
    add(&first, sha256(DROPPER));
    add(&first, digest(PALISADE_ACTION_TYPES_HASH_ALGORITHM_MD5, DROPPER, 32));
    add(&first, digest(PALISADE_ACTION_TYPES_HASH_ALGORITHM_SHA256, DROPPER, 63));
    add(&first, digest(PALISADE_ACTION_TYPES_HASH_ALGORITHM_SHA256, DROPPER "\0", 65));
    run("seeded", first, -1, false,
        (const char *const[]){"seed", "2 loaded, 0 removed", "seed_rejected", NULL, "hashes_checked", "3",
                              "hashes_malformed", "2", "hosts_skipped", NULL, "learned", "1", "quarantined",
                              "2 of 10", "endpoint.quarantine-file:held-dc-01:" DROPPER, "held: approval-42",
                              "intel:" FLAKY, NULL, NULL});

    // The same seed: not loaded again; a malicious verdict teaches a new digest.
    entities_t second = {0};
    add(&second, host("ws-1"));
    add(&second, sha256(LOADER));
    add(&second, sha256("ffff000000000000000000000000000000000000000000000000000000000000"));
    run("verdict", second, PALISADE_ACTION_TYPES_VERDICT_MALICIOUS, false,
        (const char *const[]){"learned", "1", "quarantined", "2 of 2", NULL});

    // The dropper leaves the seed; a denied quarantine stops the rest.
    fake.seed = LOADER;
    entities_t third = {0};
    add(&third, host("deny-1"));
    add(&third, host("ws-2"));
    add(&third, sha256(DROPPER));
    add(&third, sha256(LOADER));
    run("reseeded", third, -1, false,
        (const char *const[]){"seed", "1 loaded, 1 removed", "quarantined", "0 of 1",
                              "endpoint.quarantine-file:deny-1:" LOADER,
                              "error: denied: endpoint.quarantine-file is not granted", NULL});
    expect(fake.quarantines == 13, "reseeded", "no call after the denial");

    // No seed at all any more.
    fake.seed = NULL;
    entities_t fourth = {0};
    add(&fourth, host("ws-3"));
    add(&fourth, sha256(LOADER));
    run("unseeded", fourth, -1, false, (const char *const[]){"seed", "0 loaded, 1 removed", NULL});

    // Invalid settings fail the invocation, and the alert is still freed.
    const char *invalid[][2] = {{"abc", NULL}, {"99999999999", NULL}, {"", NULL}, {"0", "maybe"}};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        fake.learn_ttl_hours = invalid[i][0];
        fake.intel = invalid[i][1];
        entities_t some_host = {0};
        add(&some_host, host("ws-1"));
        run("invalid setting", some_host, -1, true, NULL);
    }
    fake.learn_ttl_hours = "0";
    fake.intel = "off";

    // kv denied: seed, lookups and learning fail and are noted; the verdict still condemns.
    fake.kv_denied = true;
    fake.seed = DROPPER;
    entities_t fifth = {0};
    add(&fifth, host("ws-9"));
    add(&fifth, sha256(DROPPER));
    run("kv denied", fifth, PALISADE_ACTION_TYPES_VERDICT_MALICIOUS, false,
        (const char *const[]){"blocklist", "denied: kv.get is not granted", "learn:" DROPPER, NULL, "quarantined",
                              "1 of 1", NULL});

    // Beyond the caps: 40 digests and 20 hosts.
    fake.kv_denied = false;
    fake.seed = NULL;
    fake.intel = "on";
    entities_t many = {0};
    char name[80];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "%064x", i);
        add(&many, sha256(name));
    }
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "host-%d", i);
        add(&many, host(name));
    }
    run("caps", many, -1, false,
        (const char *const[]){"hashes_checked", "32", "hashes_skipped", "8 beyond the first 32", "hosts_skipped",
                              NULL, NULL});

    fake_host_reset();
    if (failures > 0) {
        fprintf(stderr, "leak check: %d expectations failed\n", failures);
        return 1;
    }
    printf("leak check: every path ran, nothing leaked\n");
    return 0;
}
