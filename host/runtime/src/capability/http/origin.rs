//! The allow list: scheme, host and port a plugin's requests may go to.
//!
//! An entry is `scheme://host[:port]`, the port defaulting by scheme, no path, no query, no
//! credentials. A host may start with `*.` to allow every subdomain of a name (not the name
//! itself). A request matches an entry exactly: `https://rdap.example.net` does not allow
//! `http://rdap.example.net`, `https://rdap.example.net:8443` or `https://example.net`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Scheme> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A host as written in an allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Name(String),
    Ip(IpAddr),
    /// `*.example.net`: any name ending in `.example.net`.
    Subdomains(String),
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

/// Where a request goes, as the host sees it: its scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// Lower case, without a trailing dot; an IPv6 address without brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// The request's scheme, host and port; an error says what is wrong with the URI.
    pub fn of(uri: &http::Uri) -> Result<Target, String> {
        let scheme = uri
            .scheme_str()
            .and_then(Scheme::parse)
            .ok_or("the scheme is not http or https")?;
        let authority = uri.authority().ok_or("the URI has no host")?;
        if authority.as_str().contains('@') {
            return Err("the URI has credentials".into());
        }
        let host = authority.host();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            // The URI parser takes any hex digits and colons in brackets (`[9:1]`); a host that
            // is not an address would be shown and audited as `http://9:1:8`.
            Some(v6) if v6.parse::<Ipv6Addr>().is_err() => {
                return Err(format!("[{v6}] is not an IPv6 address"));
            }
            Some(v6) => v6,
            None => host,
        };
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if host.is_empty() {
            return Err("the URI has no host".into());
        }
        let port = authority.port_u16().unwrap_or(scheme.default_port());
        Ok(Target { scheme, host, port })
    }

    /// The host as an address when it is a literal one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    /// `scheme://host:port`: no path or query, which may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip() {
            Some(IpAddr::V6(v6)) => write!(f, "{}://[{v6}]:{}", self.scheme.as_str(), self.port),
            _ => write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port),
        }
    }
}

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is tolerated).
    pub fn parse(text: &str) -> Result<Origin, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("is not of the form scheme://host[:port]")?;
        let scheme = Scheme::parse(scheme).ok_or("the scheme must be http or https")?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err("names a path, query or fragment; an entry is only scheme://host[:port]".into());
        }
        if authority.contains('@') {
            return Err("has credentials; an entry is only scheme://host[:port]".into());
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port {port:?} is not a number from 1 to 65535"))?,
            None => scheme.default_port(),
        };
        let host = host.to_ascii_lowercase();
        let host = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            HostPattern::Ip(IpAddr::V6(
                v6.parse::<Ipv6Addr>()
                    .map_err(|_| format!("{v6:?} is not an IPv6 address"))?,
            ))
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(parent) = host.strip_prefix("*.") {
            valid_name(parent)?;
            if !parent.contains('.') {
                return Err(format!("*.{parent} would allow a whole top-level domain"));
            }
            HostPattern::Subdomains(parent.to_owned())
        } else if host.contains('*') {
            return Err("a wildcard is only allowed as a leading `*.`".into());
        } else {
            valid_name(&host)?;
            HostPattern::Name(host)
        };
        Ok(Origin { scheme, host, port })
    }

    /// Whether a request to `target` is allowed by this entry.
    pub fn matches(&self, target: &Target) -> bool {
        if self.scheme != target.scheme || self.port != target.port {
            return false;
        }
        match &self.host {
            HostPattern::Name(name) => *name == target.host,
            HostPattern::Ip(ip) => target.ip() == Some(*ip),
            HostPattern::Subdomains(parent) => target
                .host
                .strip_suffix(parent.as_str())
                .is_some_and(|label| label.len() > 1 && label.ends_with('.')),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Name(name) => f.write_str(name)?,
            HostPattern::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]")?,
            HostPattern::Ip(ip) => write!(f, "{ip}")?,
            HostPattern::Subdomains(parent) => write!(f, "*.{parent}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `host` and the optional port; an IPv6 host is in brackets.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.starts_with('[') {
        let end = authority.find(']').ok_or("an IPv6 address lacks its `]`")?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected {rest:?} after the address")),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn valid_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid host name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Target {
        Target::of(&uri.parse().unwrap()).unwrap()
    }

    fn allows(entry: &str, uri: &str) -> bool {
        Origin::parse(entry).unwrap().matches(&target(uri))
    }

    #[test]
    fn entries_parse_with_the_default_port_of_their_scheme() {
        let origin = Origin::parse("https://RDAP.example.net/").unwrap();
        assert_eq!(origin.to_string(), "https://rdap.example.net");
        assert_eq!(origin.port, 443);
        assert_eq!(
            Origin::parse("http://intel.internal:8080").unwrap().to_string(),
            "http://intel.internal:8080"
        );
        assert_eq!(
            Origin::parse("http://[::1]:9000").unwrap().to_string(),
            "http://[::1]:9000"
        );
        assert_eq!(
            Origin::parse("https://*.example.net").unwrap().to_string(),
            "https://*.example.net"
        );
    }

    #[test]
    fn paths_credentials_odd_schemes_and_loose_wildcards_are_refused() {
        for entry in [
            "rdap.example.net",
            "ftp://rdap.example.net",
            "https://rdap.example.net/ip",
            "https://rdap.example.net?x=1",
            "https://user:pw@rdap.example.net",
            "https://rdap.example.net:0",
            "https://rdap.example.net:99999",
            "https://*",
            "https://*.net",
            "https://rdap.*.net",
            "https://*rdap.example.net",
            "https://",
            "https://exa mple.net",
            "http://[::1",
        ] {
            assert!(Origin::parse(entry).is_err(), "{entry} was accepted");
        }
    }

    #[test]
    fn a_request_matches_scheme_host_and_port_exactly() {
        assert!(allows(
            "https://rdap.example.net",
            "https://rdap.example.net/ip/1.2.3.4"
        ));
        assert!(allows(
            "https://rdap.example.net",
            "https://RDAP.example.net.:443/"
        ));
        assert!(allows(
            "http://intel.internal:8080",
            "http://intel.internal:8080/x?y"
        ));
        assert!(!allows("https://rdap.example.net", "http://rdap.example.net/"));
        assert!(!allows(
            "https://rdap.example.net",
            "https://rdap.example.net:8443/"
        ));
        assert!(!allows("https://rdap.example.net", "https://example.net/"));
        assert!(!allows(
            "https://rdap.example.net",
            "https://rdap.example.net.evil.com/"
        ));
        assert!(!allows("http://intel.internal:8080", "http://intel.internal/"));
    }

    #[test]
    fn a_leading_wildcard_allows_subdomains_only() {
        assert!(allows("https://*.example.net", "https://rdap.example.net/"));
        assert!(allows("https://*.example.net", "https://a.b.example.net/"));
        assert!(!allows("https://*.example.net", "https://example.net/"));
        assert!(!allows("https://*.example.net", "https://badexample.net/"));
        assert!(!allows("https://*.example.net", "https://.example.net/"));
    }

    #[test]
    fn addresses_match_as_addresses_not_spellings() {
        assert!(allows("http://127.0.0.1:8080", "http://127.0.0.1:8080/"));
        assert!(allows("http://[::1]:8080", "http://[0:0::1]:8080/"));
        assert!(!allows("http://127.0.0.1:8080", "http://127.1:8080/"));
        assert!(!allows(
            "http://127.0.0.1:8080",
            "http://[::ffff:127.0.0.1]:8080/"
        ));
        assert!(!allows("http://127.0.0.1:8080", "http://localhost:8080/"));
    }

    #[test]
    fn targets_name_no_path_and_refuse_credentials() {
        assert_eq!(
            target("https://x.example/secret?key=1").to_string(),
            "https://x.example:443"
        );
        assert_eq!(target("http://[::1]:81/").to_string(), "http://[::1]:81");
        assert!(Target::of(&"http://user@x.example/".parse().unwrap()).is_err());
        // Found by fuzzing: brackets around something that is not an address.
        assert!(Target::of(&"http://[9:1]:8/".parse().unwrap()).is_err());
    }
}
