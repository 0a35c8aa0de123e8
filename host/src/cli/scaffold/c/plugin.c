// @NAME@: a Palisade response action for the triage stage.
//
// It scores an alert's risk from its severity and confidence and gives a verdict:
// - base from severity: informational 5, low 20, medium 45, high 70, critical 90;
// - risk = base * confidence / 100 (whole numbers, rounded down);
// - verdict: malicious from 60, suspicious from 30, benign below; benign, whatever the risk,
//   when the confidence is below the `min_confidence` setting (default 50).
//
// Notes: `risk` (how the score came about), `low_confidence` (only when below the setting).
// Tags: `triage:<verdict>`. It asks for no capability, so `describe` lists none.
//
// `build` generates gen/action.h and gen/action.c from wit/ with wit-bindgen. Ownership
// follows wit-bindgen's C rules: `handle` owns its alert and frees it; what the exports return
// is allocated with malloc (action_string_dup and friends) and freed by the generated code
// after the host has copied it.

#include "action.h"

#include <stdio.h>
#include <stdlib.h>

#define NAME "@NAME@"
#define VERSION "0.1.0"

// The confidence below which an alert is not acted on, unless the admin sets another.
#define DEFAULT_MIN_CONFIDENCE 50

static void *allocate(size_t count, size_t size) {
  void *memory = calloc(count, size);
  if (memory == NULL) {
    abort();  // Out of memory: the host reports a trap for this alert and carries on.
  }
  return memory;
}

void exports_action_describe(action_plugin_info_t *ret) {
  action_string_dup(&ret->name, NAME);
  action_string_dup(&ret->version, VERSION);
  action_string_dup(&ret->description, "Risk score and verdict from an alert's severity and confidence");
  // Operations as `capability.operation`, e.g. "intel.lookup"; log and config need none.
  ret->capabilities.ptr = NULL;
  ret->capabilities.len = 0;
}

static bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Reads the `min_confidence` setting, a whole number from 0 to 100, into *value. On a
// malformed one fills *err and returns false.
static bool min_confidence(unsigned *value, action_action_error_t *err) {
  action_string_t key;
  action_string_set(&key, "min_confidence");
  action_string_t setting;
  if (!palisade_action_config_get(&key, &setting)) {
    *value = DEFAULT_MIN_CONFIDENCE;
    return true;
  }
  // Trim ASCII whitespace, then accept 1 to 3 digits up to 100.
  size_t start = 0;
  size_t end = setting.len;
  while (start < end && is_space(setting.ptr[start])) {
    start++;
  }
  while (end > start && is_space(setting.ptr[end - 1])) {
    end--;
  }
  unsigned number = 0;
  bool ok = end > start && end - start <= 3;
  for (size_t i = start; ok && i < end; i++) {
    if (setting.ptr[i] < '0' || setting.ptr[i] > '9') {
      ok = false;
    } else {
      number = number * 10 + (unsigned)(setting.ptr[i] - '0');
    }
  }
  ok = ok && number <= 100;
  if (ok) {
    *value = number;
  } else {
    char message[200];
    int shown = setting.len > 100 ? 100 : (int)setting.len;
    snprintf(message, sizeof message, "setting min_confidence: \"%.*s\" is not a whole number from 0 to 100", shown,
             (const char *)setting.ptr);
    err->tag = PALISADE_ACTION_TYPES_ACTION_ERROR_INVALID_INPUT;
    action_string_dup(&err->val.invalid_input, message);
  }
  action_string_free(&setting);
  return ok;
}

static const char *verdict_name(palisade_action_types_verdict_t verdict) {
  switch (verdict) {
    case PALISADE_ACTION_TYPES_VERDICT_MALICIOUS:
      return "malicious";
    case PALISADE_ACTION_TYPES_VERDICT_SUSPICIOUS:
      return "suspicious";
    default:
      return "benign";
  }
}

static void note(palisade_action_types_note_t *note, const char *key, const char *value) {
  action_string_dup(&note->key, key);
  action_string_dup(&note->value, value);
}

// The whole decision, without host calls.
static void triage(const action_alert_t *alert, unsigned min_confidence, action_outcome_t *ret) {
  const char *severity;
  unsigned base;
  switch (alert->severity) {
    case PALISADE_ACTION_TYPES_SEVERITY_INFORMATIONAL:
      severity = "informational", base = 5;
      break;
    case PALISADE_ACTION_TYPES_SEVERITY_LOW:
      severity = "low", base = 20;
      break;
    case PALISADE_ACTION_TYPES_SEVERITY_MEDIUM:
      severity = "medium", base = 45;
      break;
    case PALISADE_ACTION_TYPES_SEVERITY_HIGH:
      severity = "high", base = 70;
      break;
    default:
      severity = "critical", base = 90;
      break;
  }
  unsigned confidence = alert->confidence > 100 ? 100 : alert->confidence;
  unsigned risk = base * confidence / 100;

  palisade_action_types_verdict_t verdict;
  bool low_confidence = confidence < min_confidence;
  if (low_confidence) {
    verdict = PALISADE_ACTION_TYPES_VERDICT_BENIGN;
  } else if (risk >= 60) {
    verdict = PALISADE_ACTION_TYPES_VERDICT_MALICIOUS;
  } else if (risk >= 30) {
    verdict = PALISADE_ACTION_TYPES_VERDICT_SUSPICIOUS;
  } else {
    verdict = PALISADE_ACTION_TYPES_VERDICT_BENIGN;
  }

  char text[200];
  ret->notes.len = low_confidence ? 2 : 1;
  ret->notes.ptr = allocate(ret->notes.len, sizeof *ret->notes.ptr);
  snprintf(text, sizeof text, "%s=%u at %u%% confidence -> %u", severity, base, confidence, risk);
  note(&ret->notes.ptr[0], "risk", text);
  if (low_confidence) {
    snprintf(text, sizeof text, "%u < %u", confidence, min_confidence);
    note(&ret->notes.ptr[1], "low_confidence", text);
  }

  ret->verdict.is_some = true;
  ret->verdict.val = verdict;
  ret->risk_score.is_some = true;
  ret->risk_score.val = (uint8_t)risk;
  ret->tags.len = 1;
  ret->tags.ptr = allocate(1, sizeof *ret->tags.ptr);
  snprintf(text, sizeof text, "triage:%s", verdict_name(verdict));
  action_string_dup(&ret->tags.ptr[0], text);
  ret->summary.is_some = true;
  snprintf(text, sizeof text, "%s: risk %u (%s severity at %u%% confidence)", verdict_name(verdict), risk, severity,
           confidence);
  action_string_dup(&ret->summary.val, text);
}

bool exports_action_handle(action_alert_t *alert, action_outcome_t *ret, action_action_error_t *err) {
  unsigned threshold;
  bool ok = min_confidence(&threshold, err);
  if (ok) {
    triage(alert, threshold, ret);
    char line[200];
    int id = alert->id.len > 100 ? 100 : (int)alert->id.len;
    snprintf(line, sizeof line, "alert %.*s: risk %u, %s", id, (const char *)alert->id.ptr, ret->risk_score.val,
             verdict_name(ret->verdict.val));
    action_string_t message;
    action_string_set(&message, line);
    palisade_action_log_log(PALISADE_ACTION_LOG_LEVEL_INFO, &message);
  }
  action_alert_free(alert);
  return ok;
}
