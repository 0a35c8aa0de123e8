use std::fmt;

/// Why an operation, or the plugin's handling of an alert, failed.
///
/// Host calls return it; [`Action::handle`](crate::Action::handle) returns it when the plugin
/// could not do its job. It displays as `kind: message`, e.g. `denied: identity.disable-user`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActionError {
    /// The admin did not grant this plugin the named operation (`capability.operation`).
    Denied(String),
    /// An argument was malformed; the message says which and why.
    InvalidInput(String),
    /// The thing named does not exist (no such user, host or indicator).
    NotFound(String),
    /// The vendor system failed or could not be reached; the message has no secrets.
    ConnectorFailed(String),
    /// A limit of this invocation was reached (host calls, destructive operations, output).
    LimitExceeded(String),
    /// Anything else.
    Failed(String),
}

impl ActionError {
    /// The case's name as the WIT spells it: `denied`, `invalid-input`, `not-found`,
    /// `connector-failed`, `limit-exceeded` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            ActionError::Denied(_) => "denied",
            ActionError::InvalidInput(_) => "invalid-input",
            ActionError::NotFound(_) => "not-found",
            ActionError::ConnectorFailed(_) => "connector-failed",
            ActionError::LimitExceeded(_) => "limit-exceeded",
            ActionError::Failed(_) => "failed",
        }
    }

    /// The message the case carries.
    pub fn message(&self) -> &str {
        match self {
            ActionError::Denied(m)
            | ActionError::InvalidInput(m)
            | ActionError::NotFound(m)
            | ActionError::ConnectorFailed(m)
            | ActionError::LimitExceeded(m)
            | ActionError::Failed(m) => m,
        }
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for ActionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_kind_and_message() {
        let e = ActionError::Denied("identity.disable-user".into());
        assert_eq!(e.to_string(), "denied: identity.disable-user");
        assert_eq!(
            ActionError::ConnectorFailed("timeout".into()).to_string(),
            "connector-failed: timeout"
        );
    }
}
