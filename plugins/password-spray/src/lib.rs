//! `password-spray`: contains a password spray (respond stage).
//!
//! When the alert's confidence reaches `min_confidence`, it revokes the sessions of every account
//! whose sign-in succeeded, blocks the source addresses for `block_hours`, and opens a ticket that
//! holds the evidence and what was done. A call that is denied, refused or fails does not stop
//! the others; it is noted, and the ticket is created whatever happened to the containment.
//!
//! Settings (`[plugins.password-spray.settings]`, all optional):
//! - `min_confidence` (0-100, default 80): below it the plugin only notes why it did nothing.
//! - `block_hours` (default 24): how long the block lasts; 0 means it does not lapse.
//!
//! Notes: `skipped` (below the threshold; nothing else then), or `accounts_targeted`,
//! `accounts_signed_in`, `sessions_revoked` and `ips_blocked` (`<executed> of <attempted>`),
//! one `identity.revoke-sessions:<user>` / `network.block-ip:<address>` per call (the receipt's
//! status, or `error: <kind>: <message>`), `ticket` (its id, or the error) and `denied` (the
//! operations denied, when any). Tags: `password-spray`, `contained` when a call executed,
//! `awaiting-approval` when one is held. Verdict: malicious.

mod ticket;

use palisade_sdk::prelude::*;
use palisade_sdk::ticket::{NewTicket, TicketRef};

/// The operations this plugin asks for.
pub const CAPABILITIES: [&str; 3] = [REVOKE_SESSIONS, BLOCK_IP, "ticket.create"];
const REVOKE_SESSIONS: &str = "identity.revoke-sessions";
const BLOCK_IP: &str = "network.block-ip";

/// The plugin's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Alerts less confident than this are only noted.
    pub min_confidence: u8,
    /// How long a block lasts, in hours; 0: it does not lapse.
    pub block_hours: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_confidence: 80,
            block_hours: 24,
        }
    }
}

impl Settings {
    /// Reads the settings from the values the admin configured (`None`: not set).
    pub fn parse(min_confidence: Option<&str>, block_hours: Option<&str>) -> Result<Self, ActionError> {
        let defaults = Settings::default();
        let min_confidence = palisade_sdk::parse_setting::<u8>("min_confidence", min_confidence)?
            .unwrap_or(defaults.min_confidence);
        if min_confidence > 100 {
            return Err(ActionError::InvalidInput(format!(
                "setting `min_confidence` = {min_confidence} is invalid: it is at most 100"
            )));
        }
        let block_hours =
            palisade_sdk::parse_setting::<u32>("block_hours", block_hours)?.unwrap_or(defaults.block_hours);
        Ok(Settings {
            min_confidence,
            block_hours,
        })
    }

    /// The block's duration for `network.block-ip`.
    fn block_seconds(&self) -> Option<u32> {
        (self.block_hours > 0).then(|| self.block_hours.saturating_mul(3600))
    }
}

/// The host operations the plugin uses; the real host in the component, a fake in tests.
pub trait Responder {
    /// `identity.revoke-sessions`.
    fn revoke_sessions(&mut self, user: &str, reason: &str) -> Result<Receipt, ActionError>;
    /// `network.block-ip`.
    fn block_ip(
        &mut self,
        address: &str,
        duration_seconds: Option<u32>,
        reason: &str,
    ) -> Result<Receipt, ActionError>;
    /// `ticket.create`.
    fn create_ticket(&mut self, ticket: &NewTicket) -> Result<TicketRef, ActionError>;
}

/// One containment call and what became of it.
#[derive(Clone, Debug)]
pub struct ActionTaken {
    /// `capability.operation`.
    pub operation: &'static str,
    /// The account or address acted on.
    pub target: String,
    pub result: Result<Receipt, ActionError>,
}

impl ActionTaken {
    fn executed(&self) -> bool {
        matches!(&self.result, Ok(r) if r.status == ActionStatus::Executed)
    }

    fn held(&self) -> bool {
        matches!(
            &self.result,
            Ok(Receipt {
                status: ActionStatus::Held(_),
                ..
            })
        )
    }

    fn denied(&self) -> bool {
        matches!(self.result, Err(ActionError::Denied(_)))
    }

    /// The receipt's status, or the error.
    fn result_text(&self) -> String {
        match &self.result {
            Ok(receipt) => receipt.status.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// What the alert says about the spray.
#[derive(Clone, Debug)]
pub struct Spray<'a> {
    pub alert: &'a Alert,
    /// Every account targeted, each once, in the alert's order.
    pub targeted: Vec<&'a User>,
    /// The accounts whose sign-in succeeded.
    pub signed_in: Vec<&'a User>,
    /// The addresses the spray came from: the IPs marked as source, else all IPs; each once.
    pub sources: Vec<&'a Ip>,
}

impl<'a> Spray<'a> {
    pub fn from_alert(alert: &'a Alert) -> Self {
        let mut targeted: Vec<&User> = Vec::new();
        for user in alert.users() {
            if !targeted.iter().any(|u| u.name == user.name) {
                targeted.push(user);
            } else if user.sign_in == Some(SignInResult::Success) {
                // The same account listed twice: a success anywhere counts.
                if let Some(slot) = targeted.iter_mut().find(|u| u.name == user.name) {
                    *slot = user;
                }
            }
        }
        let signed_in = targeted
            .iter()
            .copied()
            .filter(|u| u.sign_in == Some(SignInResult::Success))
            .collect();
        let mut sources: Vec<&Ip> = alert.source_ips().collect();
        if sources.is_empty() {
            sources = alert.ips().collect();
        }
        let mut seen = Vec::new();
        sources.retain(|ip| {
            let fresh = !seen.contains(&ip.address.as_str());
            seen.push(ip.address.as_str());
            fresh
        });
        Spray {
            alert,
            targeted,
            signed_in,
            sources,
        }
    }

    /// Why the plugin acts, for the identity provider's and the firewall's audit logs.
    fn reason(&self) -> String {
        format!(
            "Palisade password-spray: alert {} ({})",
            self.alert.id,
            self.alert.rule().unwrap_or("unknown rule")
        )
    }
}

/// Handles one alert: the whole decision, with the host behind `host`.
pub fn respond(alert: &Alert, settings: &Settings, host: &mut impl Responder) -> Outcome {
    if alert.confidence < settings.min_confidence {
        let why = format!(
            "confidence {} is below min_confidence {}: no action taken",
            alert.confidence, settings.min_confidence
        );
        return Outcome::new().note("skipped", why.clone()).summary(why);
    }

    let spray = Spray::from_alert(alert);
    let reason = spray.reason();
    let mut actions = Vec::new();
    for user in &spray.signed_in {
        actions.push(ActionTaken {
            operation: REVOKE_SESSIONS,
            target: user.name.clone(),
            result: host.revoke_sessions(&user.name, &reason),
        });
    }
    for ip in &spray.sources {
        actions.push(ActionTaken {
            operation: BLOCK_IP,
            target: ip.address.clone(),
            result: host.block_ip(&ip.address, settings.block_seconds(), &reason),
        });
    }

    let new_ticket = ticket::new_ticket(&spray, settings, &actions);
    let ticket = host.create_ticket(&new_ticket);
    outcome(&spray, &actions, &ticket)
}

fn outcome(spray: &Spray, actions: &[ActionTaken], ticket: &Result<TicketRef, ActionError>) -> Outcome {
    let count = |operation: &str| {
        let of_kind = actions.iter().filter(|a| a.operation == operation);
        let attempted = of_kind.clone().count();
        let executed = of_kind.filter(|a| a.executed()).count();
        (executed, attempted)
    };
    let (revoked, revokes) = count(REVOKE_SESSIONS);
    let (blocked, blocks) = count(BLOCK_IP);

    let mut outcome = Outcome::new()
        .verdict(Verdict::Malicious)
        .tag("password-spray")
        .note("accounts_targeted", spray.targeted.len().to_string())
        .note("accounts_signed_in", spray.signed_in.len().to_string())
        .note("sessions_revoked", format!("{revoked} of {revokes}"))
        .note("ips_blocked", format!("{blocked} of {blocks}"));
    for action in actions {
        outcome.add_note(
            format!("{}:{}", action.operation, action.target),
            action.result_text(),
        );
    }

    let mut denied: Vec<&str> = Vec::new();
    for action in actions.iter().filter(|a| a.denied()) {
        if !denied.contains(&action.operation) {
            denied.push(action.operation);
        }
    }
    let ticket_text = match ticket {
        Ok(t) => {
            outcome.add_note("ticket", ticket_ref_text(t));
            format!("opened ticket {}", t.id)
        }
        Err(e) => {
            if matches!(e, ActionError::Denied(_)) {
                denied.push("ticket.create");
            }
            outcome.add_note("ticket", format!("error: {e}"));
            "could not open a ticket".to_owned()
        }
    };
    if !denied.is_empty() {
        outcome.add_note("denied", denied.join(", "));
    }
    if actions.iter().any(ActionTaken::executed) {
        outcome.add_tag("contained");
    }
    if actions.iter().any(ActionTaken::held) {
        outcome.add_tag("awaiting-approval");
    }
    outcome.summary(format!(
        "Password spray: revoked the sessions of {revoked} of {revokes} signed-in accounts, \
         blocked {blocked} of {blocks} source addresses, {ticket_text}."
    ))
}

fn ticket_ref_text(ticket: &TicketRef) -> String {
    match &ticket.url {
        Some(url) => format!("{} {url}", ticket.id),
        None => ticket.id.clone(),
    }
}

/// The real host.
struct HostCalls;

impl Responder for HostCalls {
    fn revoke_sessions(&mut self, user: &str, reason: &str) -> Result<Receipt, ActionError> {
        identity::revoke_sessions(user, reason)
    }

    fn block_ip(
        &mut self,
        address: &str,
        duration_seconds: Option<u32>,
        reason: &str,
    ) -> Result<Receipt, ActionError> {
        network::block_ip(address, duration_seconds, reason)
    }

    fn create_ticket(&mut self, ticket: &NewTicket) -> Result<TicketRef, ActionError> {
        palisade_sdk::ticket::create(ticket)
    }
}

struct PasswordSpray;

impl Action for PasswordSpray {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Contains a password spray: revokes the sessions of accounts that signed in, blocks \
             the source addresses, and opens a ticket with the evidence",
            CAPABILITIES,
        )
    }

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
        let settings = Settings::parse(
            setting("min_confidence").as_deref(),
            setting("block_hours").as_deref(),
        )?;
        let outcome = respond(&alert, &settings, &mut HostCalls);
        if let Some(summary) = &outcome.summary {
            palisade_sdk::info!("alert {}: {summary}", alert.id);
        }
        Ok(outcome)
    }
}

palisade_sdk::export!(PasswordSpray);

#[cfg(test)]
mod tests;
