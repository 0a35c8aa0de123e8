//! Domain names, compared in their ASCII (IDNA) form.

use super::NameError;

/// The canonical form of a domain: trimmed, without leading or trailing dots, mapped and
/// converted to ASCII by UTS #46 (so `ＥＸＡＭＰＬＥ.com` and `bücher.example` become
/// `example.com` and `xn--bcher-kva.example`), lowercase. Hidden characters are refused
/// before IDNA can map them away.
pub fn domain(text: &str) -> Result<String, NameError> {
    if let Some(bad) = text.chars().find(|c| super::name::is_hidden(*c)) {
        return Err(NameError::ControlCharacter(bad as u32));
    }
    // Spaces and dots in any order: `example.com .` once kept a trailing space that IDNA let
    // through, so the protected domain no longer matched `example.com` (found by fuzzing).
    let trimmed = text.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| NameError::Invalid(format!("{trimmed:?} is not a valid domain name")))?;
    let ascii = ascii
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_ascii_lowercase();
    if ascii.is_empty() || ascii.split('.').any(str::is_empty) {
        return Err(NameError::Invalid(format!("{trimmed:?} has an empty label")));
    }
    Ok(ascii)
}

/// Whether two canonical domains share names: equal, or one a subdomain of the other at a
/// label boundary (`mail.example.com` is under `example.com`; `badexample.com` is not).
pub fn overlap(a: &str, b: &str) -> bool {
    under(a, b) || under(b, a)
}

fn under(child: &str, parent: &str) -> bool {
    child == parent || child.strip_suffix(parent).is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_domain_agree() {
        for spelling in [
            "example.com",
            "Example.COM.",
            " example.com ",
            "ＥＸＡＭＰＬＥ.com",
            "example。com",
            "example.com .",
        ] {
            assert_eq!(domain(spelling).unwrap(), "example.com", "{spelling:?}");
        }
        assert_eq!(domain("Bücher.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(domain("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
    }

    #[test]
    fn hidden_and_malformed_domains_are_refused() {
        assert!(matches!(
            domain("exa\u{200B}mple.com"),
            Err(NameError::ControlCharacter(_))
        ));
        assert!(matches!(
            domain("example.com\n"),
            Err(NameError::ControlCharacter(_))
        ));
        assert_eq!(domain(" . "), Err(NameError::Empty));
        assert!(domain("a..b").is_err());
    }

    #[test]
    fn overlap_is_at_label_boundaries_both_ways() {
        assert!(overlap("example.com", "example.com"));
        assert!(overlap("example.com", "mail.example.com"));
        assert!(overlap("mail.example.com", "example.com"));
        assert!(!overlap("example.com", "badexample.com"));
        assert!(!overlap("example.com", "example.co"));
    }
}
