//! One spelling for each thing a policy names.
//!
//! A protected entity is matched against the name a plugin passed and the names the vendor's
//! record carries, so both sides must be brought to the same form first: `Dana.Ortiz`,
//! `ＤＡＮＡ.ＯＲＴＩＺ` (fullwidth) and ` dana.ortiz ` are one account; `::ffff:10.0.0.10` and
//! `10.0.0.10` one host; `Example.COM.` and `example.com` one domain. Text that cannot name
//! anything safely (control and invisible format characters, which make two strings look the
//! same and compare different) is refused rather than cleaned, so a caller fails closed.
//!
//! This module depends on nothing else in the crate: the policy, the connectors and the
//! HTTP capability all lean on it.

pub mod address;
pub mod domain;
pub mod name;

/// Why a piece of text names nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("contains the control or invisible character U+{0:04X}")]
    ControlCharacter(u32),
    #[error("{0}")]
    Invalid(String),
}
