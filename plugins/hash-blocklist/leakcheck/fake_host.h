// The leak check's stand-in host: settings, an in-memory kv, and counters.

#ifndef HASH_BLOCKLIST_FAKE_HOST_H
#define HASH_BLOCKLIST_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_KV 256

typedef struct {
    char *key;
    uint8_t *value;
    size_t len;
} kv_entry_t;

typedef struct {
    const char *seed, *learn_ttl_hours, *intel; // settings; NULL: not set
    const char *malicious;                      // the digest intel calls malicious
    bool kv_denied;
    kv_entry_t kv[MAX_KV];
    size_t kv_len;
    size_t intel_lookups, quarantines;
} fake_host_t;

extern fake_host_t fake;

// Frees the kv and clears everything.
void fake_host_reset(void);

#endif
