// A native stand-in for the host, for the leak check: the raw imports the plugin uses, written
// with the memory layout the generated glue reads (offsets in pointer sizes), so that the
// bindings' real lifting and *_free code runs under AddressSanitizer and LeakSanitizer.
// Everything handed to the plugin is malloc'd, as the host does through cabi_realloc.

#include "fake_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD sizeof(void *)

fake_host_t fake;

static bool is(const uint8_t *bytes, size_t len, const char *text) {
    return text != NULL && len == strlen(text) && memcmp(bytes, text, len) == 0;
}

static bool starts(const uint8_t *bytes, size_t len, const char *prefix) {
    return len >= strlen(prefix) && memcmp(bytes, prefix, strlen(prefix)) == 0;
}

static void put_bytes(uint8_t *at, const void *bytes, size_t len) {
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        memcpy(copy, bytes, len);
    }
    *(uint8_t **)at = copy;
    *(size_t *)(at + WORD) = len;
}

static void put_string(uint8_t *at, const char *text) {
    put_bytes(at, text, strlen(text));
}

// result::err(action-error { tag, message })
static void put_error(uint8_t *ret, uint8_t tag, const char *message) {
    ret[0] = 1;
    ret[WORD] = tag;
    put_string(ret + 2 * WORD, message);
}

void __wasm_import_palisade_action_log_log(int32_t level, uint8_t *message, size_t len) {
    (void)level, (void)message, (void)len;
}

void __wasm_import_palisade_action_config_get(uint8_t *key, size_t len, uint8_t *ret) {
    const char *value = is(key, len, "seed")              ? fake.seed
                        : is(key, len, "learn_ttl_hours") ? fake.learn_ttl_hours
                        : is(key, len, "intel")           ? fake.intel
                                                          : NULL;
    ret[0] = value != NULL;
    if (value != NULL) {
        put_string(ret + WORD, value);
    }
}

static kv_entry_t *kv_find(const uint8_t *key, size_t len) {
    for (size_t i = 0; i < fake.kv_len; i++) {
        if (is(key, len, fake.kv[i].key)) {
            return &fake.kv[i];
        }
    }
    return NULL;
}

void __wasm_import_palisade_action_kv_get(uint8_t *key, size_t len, uint8_t *ret) {
    if (fake.kv_denied) {
        put_error(ret, 0, "kv.get is not granted");
        return;
    }
    kv_entry_t *entry = kv_find(key, len);
    ret[0] = 0;
    ret[WORD] = entry != NULL;
    if (entry != NULL) {
        put_bytes(ret + 2 * WORD, entry->value, entry->len);
    }
}

void __wasm_import_palisade_action_kv_set(uint8_t *key, size_t key_len, uint8_t *value, size_t len, int32_t has_ttl,
                                           int32_t ttl, uint8_t *ret) {
    (void)has_ttl, (void)ttl;
    if (fake.kv_denied) {
        put_error(ret, 0, "kv.set is not granted");
        return;
    }
    kv_entry_t *entry = kv_find(key, key_len);
    if (entry == NULL) {
        if (fake.kv_len == MAX_KV) {
            put_error(ret, 5, "the fake store is full");
            return;
        }
        entry = &fake.kv[fake.kv_len++];
        entry->key = strndup((const char *)key, key_len);
        entry->value = NULL;
    }
    free(entry->value);
    entry->value = malloc(len + 1);
    memcpy(entry->value, value, len);
    entry->len = len;
    ret[0] = 0;
}

void __wasm_import_palisade_action_kv_delete(uint8_t *key, size_t len, uint8_t *ret) {
    if (fake.kv_denied) {
        put_error(ret, 0, "kv.delete is not granted");
        return;
    }
    kv_entry_t *entry = kv_find(key, len);
    if (entry != NULL) {
        free(entry->key);
        free(entry->value);
        *entry = fake.kv[--fake.kv_len];
    }
    ret[0] = 0;
}

void __wasm_import_palisade_action_intel_lookup(int32_t kind, uint8_t *value, size_t len, uint8_t *ret) {
    (void)kind;
    fake.intel_lookups++;
    if (is(value, len, fake.malicious)) {
        // report { indicator, reputation, score, sources, tags, description }
        ret[0] = 0;
        put_string(ret + WORD, fake.malicious);
        ret[3 * WORD] = 3; // malicious
        ret[3 * WORD + 1] = 97;
        uint8_t *sources = malloc(2 * WORD);
        put_string(sources, "feed");
        *(uint8_t **)(ret + 4 * WORD) = sources;
        *(size_t *)(ret + 5 * WORD) = 1;
        uint8_t *tags = malloc(4 * WORD);
        put_string(tags, "dropper");
        put_string(tags + 2 * WORD, "loader");
        *(uint8_t **)(ret + 6 * WORD) = tags;
        *(size_t *)(ret + 7 * WORD) = 2;
        ret[8 * WORD] = 1;
        put_string(ret + 9 * WORD, "seen in a campaign");
    } else if (len > 0 && value[0] == 'e') {
        put_error(ret, 3, "the intel vendor is down");
    } else {
        put_error(ret, 2, "indicator not known");
    }
}

void __wasm_import_palisade_action_endpoint_quarantine_file(uint8_t *host, size_t host_len, uint8_t *sha256,
                                                             size_t sha256_len, uint8_t *reason, size_t reason_len,
                                                             uint8_t *ret) {
    (void)sha256, (void)sha256_len, (void)reason, (void)reason_len;
    fake.quarantines++;
    // The hostname picks the answer, so one alert meets every receipt and error.
    if (starts(host, host_len, "deny")) {
        put_error(ret, 0, "endpoint.quarantine-file is not granted");
        return;
    }
    if (starts(host, host_len, "fail")) {
        put_error(ret, 3, "the EDR is unreachable");
        return;
    }
    // receipt { status, action-id, reference }
    ret[0] = 0;
    if (starts(host, host_len, "held")) {
        ret[WORD] = 2;
        put_string(ret + 2 * WORD, "approval-42");
    } else if (starts(host, host_len, "refuse")) {
        ret[WORD] = 3;
        put_string(ret + 2 * WORD, "below the minimum confidence");
    } else {
        ret[WORD] = starts(host, host_len, "sim") ? 1 : 0;
    }
    put_string(ret + 4 * WORD, "act-1");
    ret[6 * WORD] = 1;
    put_string(ret + 7 * WORD, "edr-job-7");
}

void fake_host_reset(void) {
    for (size_t i = 0; i < fake.kv_len; i++) {
        free(fake.kv[i].key);
        free(fake.kv[i].value);
    }
    memset(&fake, 0, sizeof fake);
}
