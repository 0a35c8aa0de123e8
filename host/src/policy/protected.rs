//! Entities automation must never act on by itself.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ipnet::IpNet;
use std::net::IpAddr;

/// What a destructive operation acts on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Target {
    User(String),
    Host(String),
    /// An IP address or CIDR range.
    Address(String),
    Domain(String),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::User(name) | Target::Host(name) | Target::Address(name) | Target::Domain(name) => name,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Account names or glob patterns, case-insensitive.
    users: Option<GlobSet>,
    /// Group names, lower-cased.
    groups: Vec<String>,
    /// Hostnames or glob patterns, case-insensitive.
    hosts: Option<GlobSet>,
    ranges: Vec<IpNet>,
}

impl Protected {
    pub fn new(
        users: &[String],
        groups: &[String],
        hosts: &[String],
        ranges: &[IpNet],
    ) -> Result<Protected, globset::Error> {
        Ok(Protected {
            users: globs(users)?,
            groups: groups.iter().map(|g| g.to_lowercase()).collect(),
            hosts: globs(hosts)?,
            ranges: ranges.to_vec(),
        })
    }

    pub fn has_groups(&self) -> bool {
        !self.groups.is_empty()
    }

    /// Why the target is protected, if it is.
    pub fn protects(&self, target: &Target, groups: Option<&[String]>) -> Option<String> {
        match target {
            Target::User(name) => {
                if self.users.as_ref().is_some_and(|users| users.is_match(name)) {
                    return Some(format!("account {name} is protected"));
                }
                let group = groups?
                    .iter()
                    .find(|group| self.groups.contains(&group.to_lowercase()))?;
                Some(format!("account {name} is in protected group {group}"))
            }
            Target::Host(name) => self
                .hosts
                .as_ref()
                .filter(|hosts| {
                    hosts.is_match(name) || hosts.is_match(name.split('.').next().unwrap_or(name))
                })
                .map(|_| format!("host {name} is protected")),
            Target::Address(text) => {
                let net = parse_net(text)?;
                self.ranges
                    .iter()
                    .find(|range| range.contains(&net) || net.contains(*range))
                    .map(|range| format!("{text} overlaps protected range {range}"))
            }
            Target::Domain(_) => None,
        }
    }
}

fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, globset::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(
            GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(false)
                .build()?,
        );
    }
    builder.build().map(Some)
}
