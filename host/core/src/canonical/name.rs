//! Account, group and host names.

use unicode_normalization::UnicodeNormalization;

use super::NameError;

/// The canonical form of a name: NFKC-normalized (fullwidth and compatibility forms fold to
/// their plain letters), trimmed of whitespace and of leading and trailing dots (`host.` is
/// the fully qualified `host`), and lowercased. Control and invisible format characters
/// anywhere in the text are an error, not something to strip: a name that carries them was
/// built to slip past a comparison.
pub fn name(text: &str) -> Result<String, NameError> {
    // Nearly every name is ASCII, where NFKC changes nothing: the same answer without the
    // normalizer's tables, which cost more than the rest of a gate decision.
    if text.is_ascii() {
        ascii_name(text)
    } else {
        unicode_name(text)
    }
}

/// [`name`] of ASCII text: its only hidden characters are the controls, and once they are
/// refused its only whitespace is the space.
fn ascii_name(text: &str) -> Result<String, NameError> {
    if let Some(bad) = text.bytes().find(u8::is_ascii_control) {
        return Err(NameError::ControlCharacter(u32::from(bad)));
    }
    let trimmed = text.trim_matches(['.', ' ']);
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    Ok(trimmed.to_ascii_lowercase())
}

fn unicode_name(text: &str) -> Result<String, NameError> {
    if let Some(bad) = text.chars().find(|c| is_hidden(*c)) {
        return Err(NameError::ControlCharacter(bad as u32));
    }
    let normalized: String = text.nfkc().collect();
    // NFKC can itself produce nothing hidden from visible input, but check the result too:
    // the guarantee is about what is compared, not what arrived.
    if let Some(bad) = normalized.chars().find(|c| is_hidden(*c)) {
        return Err(NameError::ControlCharacter(bad as u32));
    }
    // Spaces and dots in any order (`host . `): one pass of each would leave the inner ones,
    // and the result would not be its own canonical form.
    let trimmed = normalized.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    Ok(trimmed.to_lowercase())
}

/// Characters that change what a string compares as without changing how it looks: C0 and
/// C1 controls (tab, CR, LF and NUL included), DEL, zero-width and joiner characters,
/// bidirectional marks, embeddings, overrides and isolates, word joiners and invisible
/// operators, the byte-order mark, soft hyphen, and tag characters.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_text_gets_the_answer_of_the_full_normalization() {
        let mut samples: Vec<String> = (0u8..128).map(|b| format!("a{}b", b as char)).collect();
        samples.extend((0u8..128).map(|b| (b as char).to_string()));
        samples.extend(
            [
                "",
                " ",
                ".",
                ". .",
                "Dana.Ortiz",
                " .dc01. ",
                "CEO@Example.COM",
                "a b",
                "..x..",
                "x\u{7f}",
                "tab\there",
                "v\u{b}tab",
            ]
            .map(String::from),
        );
        for sample in samples {
            assert_eq!(ascii_name(&sample), unicode_name(&sample), "{sample:?}");
        }
    }

    #[test]
    fn spellings_of_one_name_agree() {
        for spelling in [
            "dana.ortiz",
            "Dana.Ortiz",
            "DANA.ORTIZ",
            "  dana.ortiz\u{3000}",
            "ＤＡＮＡ.ＯＲＴＩＺ",
            "dana.ortiz.",
            ". . dana.ortiz . .",
        ] {
            assert_eq!(name(spelling).unwrap(), "dana.ortiz", "{spelling:?}");
        }
    }

    #[test]
    fn unicode_case_folds() {
        assert_eq!(name("ÉLODIE").unwrap(), "élodie");
        // Decomposed and precomposed accents are one name.
        assert_eq!(name("E\u{301}lodie").unwrap(), name("Élodie").unwrap());
    }

    #[test]
    fn hidden_characters_are_refused_not_stripped() {
        for text in [
            "dana\u{200B}.ortiz",
            "dana.ortiz\u{0}",
            "dana\t.ortiz",
            "dana.ortiz\r\n",
            "\u{FEFF}dana.ortiz",
            "dana\u{202E}zitro",
            "dana\u{2060}ortiz",
            "dana\u{00AD}ortiz",
            "dana\u{7F}",
            "dana\u{85}",
            "dana\u{E0041}",
        ] {
            assert!(
                matches!(name(text), Err(NameError::ControlCharacter(_))),
                "{text:?} should be refused"
            );
        }
    }

    #[test]
    fn nothing_left_is_empty() {
        for text in ["", "   ", "...", " . "] {
            assert_eq!(name(text), Err(NameError::Empty), "{text:?}");
        }
    }

    #[test]
    fn look_alikes_stay_distinct() {
        // Cyrillic 'а' is not Latin 'a': a different account, not a protected one.
        assert_ne!(name("d\u{0430}na.ortiz").unwrap(), name("dana.ortiz").unwrap());
    }
}
