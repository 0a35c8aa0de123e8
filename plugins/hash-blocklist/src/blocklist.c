// The blocklist in kv; see blocklist.h.

#include "blocklist.h"

#include <stdlib.h>
#include <string.h>

// The value of a seeded entry. An entry learned from an alert says which alert instead, so a
// seed change removes only what the seed put there.
#define SEED_VALUE "seed"
// The key that remembers the seed loaded last, in its canonical form (see canonical_seed).
#define SEED_KEY "seed"
// A seed setting longer than this is refused before it is parsed: 128 digests with their
// separators fit easily, and the canonical form must fit one kv value (64 KiB).
#define MAX_SEED_TEXT 16384

bool sha256_parse(const uint8_t *bytes, size_t len, sha256_t *out) {
    if (len != SHA256_HEX_LEN) {
        return false;
    }
    for (size_t i = 0; i < SHA256_HEX_LEN; i++) {
        uint8_t c = bytes[i];
        // Lower case only: the ABI says digests are lower-case hex, and one spelling per digest
        // keeps one kv key per digest.
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    memcpy(out->hex, bytes, SHA256_HEX_LEN);
    out->hex[SHA256_HEX_LEN] = '\0';
    return true;
}

// "block:<sha256>" into `key`, which has room for it.
#define BLOCK_KEY_SIZE (sizeof "block:" + SHA256_HEX_LEN)
static action_string_t block_key(const sha256_t *digest, char key[BLOCK_KEY_SIZE]) {
    memcpy(key, "block:", 6);
    memcpy(key + 6, digest->hex, SHA256_HEX_LEN + 1);
    return (action_string_t){(uint8_t *)key, BLOCK_KEY_SIZE - 1};
}

// kv.get: true with the value (the caller frees it) or `found` false; false with the error.
static bool kv_read(const char *key_text, bool *found, action_list_u8_t *value, char **error) {
    action_string_t key = {(uint8_t *)key_text, strlen(key_text)};
    action_option_list_u8_t result;
    palisade_action_kv_action_error_t failure;
    if (!palisade_action_kv_get(&key, &result, &failure)) {
        *error = error_text(&failure);
        palisade_action_kv_action_error_free(&failure);
        return false;
    }
    *found = result.is_some;
    *value = result.is_some ? result.val : (action_list_u8_t){NULL, 0};
    return true;
}

// kv.set of `len` bytes; NULL or the error.
static char *kv_write(const char *key_text, const void *bytes, size_t len, uint32_t ttl_seconds) {
    action_string_t key = {(uint8_t *)key_text, strlen(key_text)};
    action_list_u8_t value = {(uint8_t *)bytes, len};
    palisade_action_kv_action_error_t failure;
    if (!palisade_action_kv_set(&key, &value, ttl_seconds > 0 ? &ttl_seconds : NULL, &failure)) {
        char *error = error_text(&failure);
        palisade_action_kv_action_error_free(&failure);
        return error;
    }
    return NULL;
}

// kv.delete; NULL or the error.
static char *kv_remove(const char *key_text) {
    action_string_t key = {(uint8_t *)key_text, strlen(key_text)};
    palisade_action_kv_action_error_t failure;
    if (!palisade_action_kv_delete(&key, &failure)) {
        char *error = error_text(&failure);
        palisade_action_kv_action_error_free(&failure);
        return error;
    }
    return NULL;
}

lookup_t blocklist_lookup(const sha256_t *digest, char **why) {
    char key[BLOCK_KEY_SIZE];
    block_key(digest, key);
    bool found = false;
    action_list_u8_t value;
    if (!kv_read(key, &found, &value, why)) {
        return LOOKUP_ERROR;
    }
    if (!found) {
        return LOOKUP_ABSENT;
    }
    // The value is ours, but it comes back through the host as bytes: copied with its length.
    action_string_t text = {value.ptr, value.len};
    *why = copy_text(&text, 300);
    action_list_u8_free(&value);
    return LOOKUP_LISTED;
}

char *blocklist_add(const sha256_t *digest, const char *why, uint32_t ttl_seconds) {
    char key[BLOCK_KEY_SIZE];
    block_key(digest, key);
    return kv_write(key, why, strlen(why), ttl_seconds);
}

// The entries of a seed text: separated by commas or white space, empty ones skipped.
typedef struct {
    const uint8_t *next;
    const uint8_t *end;
} tokens_t;

static bool is_separator(uint8_t c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool next_token(tokens_t *tokens, const uint8_t **start, size_t *len) {
    while (tokens->next < tokens->end && is_separator(*tokens->next)) {
        tokens->next++;
    }
    if (tokens->next == tokens->end) {
        return false;
    }
    *start = tokens->next;
    while (tokens->next < tokens->end && !is_separator(*tokens->next)) {
        tokens->next++;
    }
    *len = (size_t)(tokens->next - *start);
    return true;
}

// The valid digests of a seed text, each once, in order; `rejected` counts the other entries.
typedef struct {
    sha256_t *digests;
    size_t count;
    size_t rejected;
} seed_list_t;

static bool seed_list_has(const seed_list_t *list, const sha256_t *digest) {
    for (size_t i = 0; i < list->count; i++) {
        if (memcmp(list->digests[i].hex, digest->hex, SHA256_HEX_LEN) == 0) {
            return true;
        }
    }
    return false;
}

static seed_list_t parse_seed(const uint8_t *text, size_t len) {
    seed_list_t list = {NULL, 0, 0};
    if (len == 0) {
        return list; // `text` may be NULL then, and NULL + 0 is not a pointer C allows
    }
    size_t capacity = 0;
    tokens_t tokens = {text, text + len};
    const uint8_t *start;
    size_t token_len;
    while (next_token(&tokens, &start, &token_len)) {
        sha256_t digest;
        if (!sha256_parse(start, token_len, &digest)) {
            list.rejected++;
            continue;
        }
        if (seed_list_has(&list, &digest)) {
            continue;
        }
        if (list.count == capacity) {
            capacity = capacity == 0 ? 16 : capacity * 2;
            list.digests = xrealloc(list.digests, capacity * sizeof list.digests[0]);
        }
        list.digests[list.count++] = digest;
    }
    return list;
}

// The seed as kv remembers it: its valid digests joined by commas. Comparing this form, not
// the setting's text, means re-spacing or an invalid entry alone does not reload the seed.
static char *canonical_seed(const seed_list_t *list) {
    char *text = xmalloc(list->count * (SHA256_HEX_LEN + 1) + 1);
    char *at = text;
    for (size_t i = 0; i < list->count; i++) {
        if (i > 0) {
            *at++ = ',';
        }
        memcpy(at, list->digests[i].hex, SHA256_HEX_LEN);
        at += SHA256_HEX_LEN;
    }
    *at = '\0';
    return text;
}

// Removes the entries of the `previous` seed that `current` no longer lists, unless an alert
// taught them since (their value is no longer SEED_VALUE). Returns how many it removed, or
// stops at the first error, which it puts in `error`.
static size_t remove_dropped(const seed_list_t *previous, const seed_list_t *current, char **error) {
    size_t removed = 0;
    for (size_t i = 0; i < previous->count && *error == NULL; i++) {
        const sha256_t *digest = &previous->digests[i];
        if (seed_list_has(current, digest)) {
            continue;
        }
        char key[BLOCK_KEY_SIZE];
        block_key(digest, key);
        bool found = false;
        action_list_u8_t value;
        if (!kv_read(key, &found, &value, error)) {
            break;
        }
        bool seeded = found && value.len == strlen(SEED_VALUE) && memcmp(value.ptr, SEED_VALUE, value.len) == 0;
        if (found) {
            action_list_u8_free(&value);
        }
        if (seeded) {
            *error = kv_remove(key);
            removed += *error == NULL;
        }
    }
    return removed;
}

// Puts the `current` seed in kv in place of the one loaded before (`previous_text`, the
// canonical form kv remembered, empty when none). Returns NULL or the first kv error.
static char *replace_seed(report_t *report, const seed_list_t *current, const char *canonical,
                          const action_list_u8_t *previous_text) {
    char *error = NULL;
    size_t added = 0;
    for (size_t i = 0; i < current->count && error == NULL; i++) {
        error = blocklist_add(&current->digests[i], SEED_VALUE, 0);
        added += error == NULL;
    }
    seed_list_t previous = parse_seed(previous_text->ptr, previous_text->len);
    size_t removed = error == NULL ? remove_dropped(&previous, current, &error) : 0;
    free(previous.digests);
    if (error == NULL) {
        // Written last: a seed that failed half-way is loaded again on the next alert.
        error = current->count > 0 ? kv_write(SEED_KEY, canonical, strlen(canonical), 0) : kv_remove(SEED_KEY);
    }
    if (error == NULL) {
        report_notef(report, format("seed"), "%zu loaded, %zu removed", added, removed);
        log_line(PALISADE_ACTION_LOG_LEVEL_INFO, "seed: %zu loaded, %zu removed", added, removed);
    }
    return error;
}

void blocklist_seed(report_t *report, const action_string_t *seed) {
    if (seed->len > MAX_SEED_TEXT) {
        report_notef(report, format("seed"), "error: the setting is %zu bytes, more than %d; not loaded", seed->len,
                     MAX_SEED_TEXT);
        return;
    }
    seed_list_t current = parse_seed(seed->ptr, seed->len);
    if (current.count > MAX_SEED_ENTRIES) {
        report_notef(report, format("seed"), "error: %zu digests, more than %d; not loaded", current.count,
                     MAX_SEED_ENTRIES);
        free(current.digests);
        return;
    }
    char *canonical = canonical_seed(&current);
    bool loaded_before = false;
    action_list_u8_t previous_text = {NULL, 0};
    char *error = NULL;
    if (kv_read(SEED_KEY, &loaded_before, &previous_text, &error)) {
        // The common case, every alert but the first after a change: this one kv.get.
        bool unchanged = loaded_before ? previous_text.len == strlen(canonical) &&
                                             memcmp(previous_text.ptr, canonical, previous_text.len) == 0
                                       : current.count == 0;
        // Rejected entries are noted when the seed is loaded, not on every alert after; a seed
        // with nothing valid in it is never loaded, so it is noted every time.
        if (current.rejected > 0 && (!unchanged || current.count == 0)) {
            report_notef(report, format("seed_rejected"),
                         "%zu entries are not SHA-256 digests (64 lower-case hex)", current.rejected);
        }
        if (!unchanged) {
            error = replace_seed(report, &current, canonical, &previous_text);
        }
    }
    if (error != NULL) {
        log_line(PALISADE_ACTION_LOG_LEVEL_WARN, "seed not loaded: %s", error);
        report_notef(report, format("seed"), "error: %s", error);
        free(error);
    }
    if (loaded_before) {
        action_list_u8_free(&previous_text);
    }
    free(current.digests);
    free(canonical);
}
