// Owned strings and the outcome under construction; see report.h for the ownership rule.

#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t size) {
    void *ptr = malloc(size == 0 ? 1 : size);
    if (ptr == NULL) {
        abort();
    }
    return ptr;
}

void *xrealloc(void *ptr, size_t size) {
    void *grown = realloc(ptr, size == 0 ? 1 : size);
    if (grown == NULL) {
        abort();
    }
    return grown;
}

static char *vformat(const char *fmt, va_list args) {
    va_list again;
    va_copy(again, args);
    int length = vsnprintf(NULL, 0, fmt, args);
    if (length < 0) {
        abort(); // only a malformed format string fails here, a bug in this file
    }
    char *text = xmalloc((size_t)length + 1);
    vsnprintf(text, (size_t)length + 1, fmt, again);
    va_end(again);
    return text;
}

char *format(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *text = vformat(fmt, args);
    va_end(args);
    return text;
}

char *copy_text(const action_string_t *text, size_t max) {
    size_t length = text->len < max ? text->len : max;
    char *copy = xmalloc(length + 1);
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = text->ptr[i];
        copy[i] = (byte < 0x20 || byte == 0x7f) ? '?' : (char)byte;
    }
    copy[length] = '\0';
    return copy;
}

action_string_t take_string(char *text) {
    size_t length = strlen(text);
    if (length == 0) {
        free(text);
        return (action_string_t){NULL, 0};
    }
    return (action_string_t){(uint8_t *)text, length};
}

char *error_text(const palisade_action_types_action_error_t *error) {
    // Every case carries a message in the same place of the union; vendors' messages can be
    // long, and a note needs the gist, so it is cut at 300 bytes.
    static const char *const kinds[] = {
        "denied", "invalid-input", "not-found", "connector-failed", "limit-exceeded", "failed",
    };
    const char *kind = error->tag < sizeof kinds / sizeof kinds[0] ? kinds[error->tag] : "error";
    char *message = copy_text(&error->val.failed, 300);
    char *text = format("%s: %s", kind, message);
    free(message);
    return text;
}

void set_error(palisade_action_types_action_error_t *error, uint8_t tag, char *message) {
    error->tag = tag;
    error->val.failed = take_string(message);
}

void log_line(palisade_action_log_level_t level, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *text = vformat(fmt, args);
    va_end(args);
    // An import borrows its arguments: the string stays ours and is freed after the call.
    action_string_t message = {(uint8_t *)text, strlen(text)};
    palisade_action_log_log(level, &message);
    free(text);
}

void report_note(report_t *report, char *key, char *value) {
    palisade_action_types_list_note_t *notes = &report->outcome.notes;
    if (notes->len == report->notes_capacity) {
        report->notes_capacity = report->notes_capacity == 0 ? 8 : report->notes_capacity * 2;
        notes->ptr = xrealloc(notes->ptr, report->notes_capacity * sizeof notes->ptr[0]);
    }
    notes->ptr[notes->len].key = take_string(key);
    notes->ptr[notes->len].value = take_string(value);
    notes->len++;
}

void report_notef(report_t *report, char *key, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *value = vformat(fmt, args);
    va_end(args);
    report_note(report, key, value);
}

void report_tag(report_t *report, const char *tag) {
    action_list_string_t *tags = &report->outcome.tags;
    for (size_t i = 0; i < tags->len; i++) {
        if (tags->ptr[i].len == strlen(tag) && memcmp(tags->ptr[i].ptr, tag, tags->ptr[i].len) == 0) {
            return;
        }
    }
    if (tags->len == report->tags_capacity) {
        report->tags_capacity = report->tags_capacity == 0 ? 4 : report->tags_capacity * 2;
        tags->ptr = xrealloc(tags->ptr, report->tags_capacity * sizeof tags->ptr[0]);
    }
    action_string_dup(&tags->ptr[tags->len], tag);
    tags->len++;
}
