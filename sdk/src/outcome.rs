//! Building an [`Outcome`].

use crate::{Note, Outcome, Verdict};

impl Note {
    /// A finding: `key` names it, `value` holds it.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Note {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome::new()
    }
}

impl Outcome {
    /// An outcome with no verdict, no risk score, no notes, no tags and no summary.
    ///
    /// ```
    /// # use palisade_sdk::{Outcome, Verdict};
    /// let outcome = Outcome::new()
    ///     .verdict(Verdict::Malicious)
    ///     .risk(85)
    ///     .note("sessions_revoked", "alice")
    ///     .tag("contained")
    ///     .summary("revoked the sessions of 1 account");
    /// assert_eq!(outcome.note_value("sessions_revoked"), Some("alice"));
    /// ```
    pub fn new() -> Self {
        Outcome {
            verdict: None,
            risk_score: None,
            notes: Vec::new(),
            tags: Vec::new(),
            summary: None,
        }
    }

    /// Sets the verdict.
    #[must_use]
    pub fn verdict(mut self, verdict: Verdict) -> Self {
        self.verdict = Some(verdict);
        self
    }

    /// Sets the risk score; values above 100 become 100.
    #[must_use]
    pub fn risk(mut self, score: u8) -> Self {
        self.risk_score = Some(score.min(100));
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn note(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.add_note(key, value);
        self
    }

    /// Adds a tag, unless the outcome has it already.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.add_tag(tag);
        self
    }

    /// Sets the summary: one sentence for the analyst.
    #[must_use]
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Adds a note, in place.
    pub fn add_note(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.notes.push(Note::new(key, value));
    }

    /// Adds a tag in place, unless the outcome has it already.
    pub fn add_tag(&mut self, tag: impl Into<String>) {
        let tag = tag.into();
        if !self.tags.contains(&tag) {
            self.tags.push(tag);
        }
    }

    /// The value of the last note with this key.
    pub fn note_value(&self, key: &str) -> Option<&str> {
        self.notes
            .iter()
            .rev()
            .find(|n| n.key == key)
            .map(|n| n.value.as_str())
    }

    /// Whether the outcome has this tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_everything() {
        let outcome = Outcome::new()
            .verdict(Verdict::Suspicious)
            .risk(250)
            .note("a", "1")
            .note("a", "2")
            .tag("x")
            .tag("x")
            .summary("done");
        assert_eq!(outcome.verdict, Some(Verdict::Suspicious));
        assert_eq!(outcome.risk_score, Some(100));
        assert_eq!(outcome.notes.len(), 2);
        assert_eq!(outcome.note_value("a"), Some("2"));
        assert_eq!(outcome.tags, ["x"]);
        assert!(outcome.has_tag("x"));
        assert_eq!(outcome.summary.as_deref(), Some("done"));
        assert_eq!(Outcome::default(), Outcome::new());
    }
}
