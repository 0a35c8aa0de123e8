//! What a plugin's SPL may do: search, and nothing else unless the admin says so.
//!
//! A plugin's search runs under the host's Splunk credentials, and SPL can write: pipe into
//! `outputlookup`, `collect`, `sendemail`, `delete`, `script` and their like, or start with a
//! generating command (`| rest`, `| savedsearch`) that reaches past the event data. The grant
//! is for searching, so such a query is refused unless the connector's `allow_commands` names
//! each command it uses, and macros (which can expand to any command) unless `allow_macros`.
//!
//! The check reads every `|` and `[` as the start of a command, quoted or not: a quoted `|`
//! makes the check refuse a harmless search, never pass a harmful one, whatever quoting rules
//! Splunk applies.

use crate::ConnectorError;

/// Commands that write, send, delete or run something: refused unless allowed.
const WRITING: &[&str] = &[
    "collect",
    "dbxoutput",
    "dbxquery",
    "delete",
    "map",
    "mcollect",
    "meventcollect",
    "outputcsv",
    "outputlookup",
    "outputtext",
    "rest",
    "run",
    "runshellscript",
    "savedsearch",
    "script",
    "sendalert",
    "sendemail",
    "sendresults",
    "summaryindex",
    "tscollect",
];

/// What the admin allows beyond plain searching.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    /// Commands (lower case) allowed as generating commands or although they write.
    pub commands: Vec<String>,
    /// Whether backtick macros may be used.
    pub macros: bool,
}

/// A command of a query: its name in lower case, and whether it generates (starts the query
/// or a subsearch with `|`).
#[derive(Debug, PartialEq, Eq)]
struct Command {
    name: String,
    generating: bool,
}

/// Every command `query` may run, reading each `|` and `[` as the start of one.
fn commands(query: &str) -> Vec<Command> {
    let mut found = Vec::new();
    let mut rest = query.trim_start();
    // The query itself: a leading `|` makes its first command generating.
    let mut generating = false;
    if let Some(after) = rest.strip_prefix('|') {
        rest = after;
        generating = true;
    }
    loop {
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !name.is_empty() {
            found.push(Command {
                name: name.to_lowercase(),
                generating,
            });
        }
        let Some(at) = rest.find(['|', '[']) else {
            break;
        };
        let opener = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        generating = false;
        // `[| cmd` opens a subsearch with a generating command; `[search ...]` does not.
        if opener == b'['
            && let Some(after) = rest.trim_start().strip_prefix('|')
        {
            rest = after;
            generating = true;
        }
    }
    found
}

/// `Ok` when `query` only searches, or uses nothing the admin has not allowed.
pub fn check(query: &str, allowed: &Allowed) -> Result<(), ConnectorError> {
    if !allowed.macros && query.contains('`') {
        return Err(ConnectorError::InvalidInput(
            "splunk search: macros are not allowed (a macro can expand to any command); \
             the admin may set allow_macros = true"
                .into(),
        ));
    }
    for command in commands(query) {
        let permitted = allowed.commands.contains(&command.name);
        let why = if command.generating {
            "is a generating command"
        } else if WRITING.contains(&command.name.as_str()) {
            "writes, sends or runs something"
        } else {
            continue;
        };
        if !permitted {
            return Err(ConnectorError::InvalidInput(format!(
                "splunk search: `{}` {why}, and the grant is for searching; the admin may add \
                 it to the connector's allow_commands",
                command.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str) -> String {
        match check(query, &Allowed::default()) {
            Err(ConnectorError::InvalidInput(reason)) => reason,
            other => panic!("{query:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn plain_searches_and_reading_commands_pass() {
        for query in [
            "index=main user=alice | stats count by src_ip",
            "search index=main | lookup threat_intel ip OUTPUT score | where score > 50",
            "index=main [search index=vpn user=bob | fields src_ip] | table _time user",
            "index=main \"a|b\" earliest=-24h",
        ] {
            assert_eq!(check(query, &Allowed::default()), Ok(()), "{query}");
        }
    }

    #[test]
    fn writing_commands_generating_pipelines_and_macros_are_refused() {
        for (query, command) in [
            ("index=main | outputlookup evil.csv", "outputlookup"),
            ("index=main | COLLECT index=summary", "collect"),
            ("index=main|sendemail to=x@example.com", "sendemail"),
            ("index=main | delete", "delete"),
            (
                "index=main [| rest /services/authentication/users | fields title]",
                "rest",
            ),
            ("index=main [search index=x | outputcsv y]", "outputcsv"),
            ("| tstats count where index=main by host", "tstats"),
            ("  |makeresults | script python evil", "makeresults"),
            ("index=main | map search=\"search index=$x$\"", "map"),
        ] {
            let reason = refused(query);
            assert!(reason.contains(&format!("`{command}`")), "{query}: {reason}");
            assert!(reason.contains("allow_commands"), "{reason}");
        }
        assert!(refused("index=main `notable` | stats count").contains("allow_macros"));
    }

    #[test]
    fn what_the_admin_allows_passes_and_nothing_more() {
        let allowed = Allowed {
            commands: vec!["tstats".into(), "inputlookup".into()],
            macros: true,
        };
        assert_eq!(check("| tstats count where index=main by host", &allowed), Ok(()));
        assert_eq!(check("index=main [| inputlookup vip.csv] `m`", &allowed), Ok(()));
        assert!(check("| tstats count | outputlookup x.csv", &allowed).is_err());
    }

    #[test]
    fn every_command_is_found_whatever_the_spacing() {
        assert_eq!(
            commands("| tstats count|search x [ |inputlookup y ] | eval a=1"),
            [
                Command {
                    name: "tstats".into(),
                    generating: true
                },
                Command {
                    name: "search".into(),
                    generating: false
                },
                Command {
                    name: "inputlookup".into(),
                    generating: true
                },
                Command {
                    name: "eval".into(),
                    generating: false
                },
            ]
        );
    }
}
