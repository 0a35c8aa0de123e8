// Owned strings and the outcome under construction.
//
// Ownership rule of the wit-bindgen C bindings: what the host hands to an export (the alert)
// and what an import returns (a kv value, a receipt, an error) belong to the plugin, which
// frees them with the generated *_free functions; what an export returns (the outcome, an
// error, describe()'s plugin-info) is freed by the generated post-return function with
// free(). So every string that goes into the outcome is allocated here with malloc.

#ifndef HASH_BLOCKLIST_REPORT_H
#define HASH_BLOCKLIST_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "action.h"

// malloc and realloc that trap when memory runs out: an invocation that cannot allocate a
// note cannot report anything useful either, and a trap ends only this invocation (the host
// records it as failed) instead of leaving a half-built outcome behind.
void *xmalloc(size_t size);
void *xrealloc(void *ptr, size_t size);

// printf into a new NUL-terminated buffer.
char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Copies at most `max` bytes of `text` into a new NUL-terminated buffer, with control bytes
// (a NUL among them) replaced by '?', so that text from an alert or a vendor can go into a
// note or a log line as it is. The length is taken from the string, never from a NUL.
char *copy_text(const action_string_t *text, size_t max);

// A binding string that owns `text` (a buffer from format() or copy_text()). An empty text
// becomes {NULL, 0}: the bindings free a string only when its length is not 0.
action_string_t take_string(char *text);

// "denied: <message>", "not-found: <message>", ...: an action-error for a note.
char *error_text(const palisade_action_types_action_error_t *error);

// An action-error of kind `tag` whose message is `message` (taken).
void set_error(palisade_action_types_action_error_t *error, uint8_t tag, char *message);

// Writes a line to the host's log, attributed to this plugin and the alert.
void log_line(palisade_action_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// The outcome being built, with room to grow its lists.
typedef struct {
    action_outcome_t outcome;
    size_t notes_capacity;
    size_t tags_capacity;
} report_t;

// Adds a note; takes `key` and `value`.
void report_note(report_t *report, char *key, char *value);

// Adds a note whose value is formatted; takes `key`.
void report_notef(report_t *report, char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Adds a tag (copied).
void report_tag(report_t *report, const char *tag);

#endif
