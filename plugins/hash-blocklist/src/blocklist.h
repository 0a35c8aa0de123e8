// The blocklist: SHA-256 digests kept in the plugin's key-value state, one key per digest
// (`block:<sha256>`), so that a lookup is one kv.get however long the list grows and an entry
// learned from an alert can lapse on its own (kv's TTL) without rewriting the others.

#ifndef HASH_BLOCKLIST_BLOCKLIST_H
#define HASH_BLOCKLIST_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define SHA256_HEX_LEN 64

// At most this many digests in the `seed` setting: the seed is loaded in one invocation,
// one kv.set per digest, and has to fit the plugin's host-call budget (256 by default).
#define MAX_SEED_ENTRIES 128

// A validated digest: exactly 64 lower-case hexadecimal characters, NUL-terminated.
typedef struct {
    char hex[SHA256_HEX_LEN + 1];
} sha256_t;

// Whether `bytes` (of `len` bytes; the length is checked, not assumed) is a SHA-256 digest as
// the ABI writes it, 64 lower-case hex characters; copies it into `out` when it is.
bool sha256_parse(const uint8_t *bytes, size_t len, sha256_t *out);

typedef enum {
    LOOKUP_ABSENT,
    LOOKUP_LISTED,
    LOOKUP_ERROR,
} lookup_t;

// Looks `digest` up. LOOKUP_LISTED: `why` is the entry's value (where it came from);
// LOOKUP_ERROR: `why` is the kv error. The caller frees `why`.
lookup_t blocklist_lookup(const sha256_t *digest, char **why);

// Adds `digest` with the provenance `why`, lapsing after `ttl_seconds` (0: never). Returns
// NULL, or the kv error (the caller frees it).
char *blocklist_add(const sha256_t *digest, const char *why, uint32_t ttl_seconds);

// Loads the `seed` setting (digests separated by commas or white space) unless it is the seed
// loaded last, which kv remembers under `seed`; removes the entries of the previous seed that
// this one dropped, unless an alert taught them since. Notes what it did under `seed`.
void blocklist_seed(report_t *report, const action_string_t *seed);

#endif
