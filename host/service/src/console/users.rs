//! The console's people: argon2id password hashes (the crate's recommended parameters: 19 MiB,
//! two passes, one lane), checked with the same work whether the user exists or not, and
//! `palisade user add` writing a user into the config without touching the rest of the file.

use crate::config::{ConsoleUser, Role};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{ARGON2ID_IDENT, Argon2, Params, PasswordHash};
use std::collections::BTreeMap;

/// Shorter passwords are refused: the console can approve containment on any account.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer ones are refused too, so one sign-in cannot make the hash read megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What an unknown user's password is checked against, so the answer takes as long as for a
/// known one: the default parameters, as `palisade user add` makes every hash, and an output
/// drawn at random, which no known password gives.
const UNKNOWN_USER: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$6mHk8S2Wd8cT1WyB3C1VOg$Hxn6mM1mJHe6mSi+2/QSi2FXqFjm5kwh06YmYI8h/rY";

/// Letters, digits, `-`, `_`, `.` and `@`: a name shows in the audit as `console:NAME`.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

/// Whether `phc` is an argon2id hash this console can check; why not otherwise. Other
/// algorithms (argon2i, argon2d, bcrypt, ...) are refused: one kind of hash, the strongest.
pub fn check_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc)
        .map_err(|_| "not a PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err(format!("the hash is {}; only argon2id is taken", hash.algorithm));
    }
    if hash.version != Some(0x13) {
        return Err("only argon2 version 19 (v=19) is taken".into());
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("the hash has no salt or no output".into());
    }
    Params::try_from(&hash).map_err(|error| format!("its parameters are invalid: {error}"))?;
    Ok(())
}

/// A new argon2id hash of `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("a password has at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("a password has at most {MAX_PASSWORD_BYTES} bytes"));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| format!("cannot hash the password: {error}"))
}

/// The role of `name` if `password` is theirs. An unknown name costs the same hash as a
/// known one, and so does an over-long password, so the time taken tells nothing. Slow on
/// purpose: call it off the async threads.
pub fn verify(users: &BTreeMap<String, ConsoleUser>, name: &str, password: &str) -> Option<Role> {
    let user = users.get(name);
    let phc = user.map_or(UNKNOWN_USER, |user| user.password_hash.as_str());
    // Checked at load; a hash that no longer parses refuses, after the same work.
    let hash = PasswordHash::new(phc)
        .or_else(|_| PasswordHash::new(UNKNOWN_USER))
        .ok()?;
    let password = password.as_bytes();
    let password = &password[..password.len().min(MAX_PASSWORD_BYTES)];
    let matched = Argon2::default().verify_password(password, &hash).is_ok();
    match user {
        Some(user) if matched && phc != UNKNOWN_USER => Some(user.role),
        _ => None,
    }
}

/// `text` (a config file) with `[serve.users.NAME]` set to `role` and `password_hash`: an
/// existing table is replaced where it stands, a new one added at the end; every other byte
/// stays as it was.
pub fn set_user(text: &str, name: &str, role: Role, password_hash: &str) -> Result<String, String> {
    use toml_edit::{DocumentMut, Item, Table, value};
    if !valid_user_name(name) {
        return Err("a user name is 1 to 64 letters, digits, '-', '_', '.' and '@'".into());
    }
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error| format!("the config is not valid TOML: {error}"))?;
    let table_at = |table: &mut Table, key: &str, path: &str| -> Result<(), String> {
        match table.get(key) {
            None => {
                let mut new = Table::new();
                new.set_implicit(true);
                table.insert(key, Item::Table(new));
                Ok(())
            }
            Some(Item::Table(_)) => Ok(()),
            Some(_) => Err(format!("`{path}` is not a table; edit it by hand")),
        }
    };
    table_at(document.as_table_mut(), "serve", "serve")?;
    let serve = document["serve"].as_table_mut().ok_or("`serve` is not a table")?;
    table_at(serve, "users", "serve.users")?;
    let users = serve["users"]
        .as_table_mut()
        .ok_or("`serve.users` is not a table")?;
    match users.get_mut(name) {
        Some(Item::Table(user)) => user.clear(),
        Some(_) => return Err(format!("`serve.users.{name}` is not a table; edit it by hand")),
        None => {
            users.insert(name, Item::Table(Table::new()));
        }
    }
    let user = users[name].as_table_mut().ok_or("the user's table")?;
    user.insert("role", value(role.as_str()));
    user.insert("password_hash", value(password_hash));
    Ok(document.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(role: Role, password: &str) -> BTreeMap<String, ConsoleUser> {
        BTreeMap::from([(
            "alice".to_owned(),
            ConsoleUser {
                role,
                password_hash: hash_password(password).unwrap(),
            },
        )])
    }

    #[test]
    fn the_right_password_gives_the_users_role_and_nothing_else_does() {
        let users = users(Role::Approver, "correct horse battery");
        assert_eq!(
            verify(&users, "alice", "correct horse battery"),
            Some(Role::Approver)
        );
        assert_eq!(verify(&users, "alice", "correct horse batterY"), None);
        assert_eq!(verify(&users, "bob", "correct horse battery"), None);
        assert_eq!(verify(&users, "alice", ""), None);
        assert_eq!(verify(&users, "alice", &"x".repeat(100_000)), None);
    }

    #[test]
    fn hashes_are_argon2id_with_the_recommended_parameters_and_a_fresh_salt() {
        let one = hash_password("correct horse battery").unwrap();
        let two = hash_password("correct horse battery").unwrap();
        assert!(one.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{one}");
        assert_ne!(one, two);
        assert_eq!(check_hash(&one), Ok(()));
        assert_eq!(check_hash(UNKNOWN_USER), Ok(()));
        assert!(hash_password("short").unwrap_err().contains("12 characters"));
    }

    #[test]
    fn the_unknown_user_hash_costs_what_a_new_hash_costs() {
        let made = PasswordHash::new(&hash_password("correct horse battery").unwrap())
            .unwrap()
            .params
            .to_string();
        assert_eq!(PasswordHash::new(UNKNOWN_USER).unwrap().params.to_string(), made);
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$6mHk8S2Wd8cT1WyB3C1VOg$Hxn6mM1mJHe6mSi+2/QSi2FXqFjm5kwh06YmYI8h/rY";
        assert!(check_hash(argon2i).unwrap_err().contains("only argon2id"));
        let bcrypt = "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m";
        assert!(check_hash(bcrypt).is_err());
        assert!(check_hash("hunter2").is_err());
        assert!(check_hash("").is_err());
    }

    #[test]
    fn a_user_is_written_into_the_config_and_nothing_else_changes() {
        let config = "# the team's config\n[serve]\nlisten = \"127.0.0.1:0\"  # loopback\n\n[serve.sources.edr]\nauth = \"bearer\"\ntoken = { env = \"T\" }\n";
        let added = set_user(config, "alice", Role::Approver, "$argon2id$h1").unwrap();
        assert!(added.starts_with(config), "{added}");
        assert!(
            added.ends_with("[serve.users.alice]\nrole = \"approver\"\npassword_hash = \"$argon2id$h1\"\n"),
            "{added}"
        );
        // Replaced where it stands, with the tables after it untouched.
        let later =
            format!("{added}\n[serve.users.bob]\nrole = \"viewer\"\npassword_hash = \"$argon2id$h2\"\n");
        let replaced = set_user(&later, "alice", Role::Admin, "$argon2id$h3").unwrap();
        assert_eq!(
            replaced,
            later
                .replace("role = \"approver\"", "role = \"admin\"")
                .replace("$argon2id$h1", "$argon2id$h3")
        );
        let email = set_user("", "oncall@example.com", Role::Viewer, "h").unwrap();
        assert!(email.contains("[serve.users.\"oncall@example.com\"]"), "{email}");
        let parsed: toml::Table = toml::from_str(&email).unwrap();
        assert_eq!(
            parsed["serve"]["users"]["oncall@example.com"]["role"].as_str(),
            Some("viewer")
        );
    }

    #[test]
    fn a_config_that_cannot_take_the_user_is_left_alone() {
        assert!(set_user("serve = 1\n", "alice", Role::Viewer, "h").is_err());
        assert!(set_user("[serve]\nusers = [1]\n", "alice", Role::Viewer, "h").is_err());
        assert!(set_user("[serve\n", "alice", Role::Viewer, "h").is_err());
        assert!(set_user("", "alice bob", Role::Viewer, "h").is_err());
    }
}
