//! The console's sign-in sessions, kept in the store so they outlive a restart and can be
//! ended from anywhere (sign-out, a user removed). Only the SHA-256 of a session's token is
//! kept: someone who reads the database cannot sign in with what they find there.
//!
//! A person signs in or out a few times a day, so these write on the shared connection at
//! once, as approvals do, rather than through the writer, whose batches are for the alerts'
//! hot path.

use rusqlite::{Connection, OptionalExtension, params};
use std::sync::{Arc, Mutex};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
";

/// Who a session is for and until when.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: String,
    /// What every form posted in this session must carry.
    pub csrf: String,
    /// Unix seconds; the session ends then.
    pub expires_at: i64,
}

impl std::fmt::Debug for Session {
    /// Without the CSRF token, which is as secret as the session while it lasts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("role", &self.role)
            .field("csrf", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The sessions; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    connection: Arc<Mutex<Connection>>,
}

impl Sessions {
    pub(super) fn new(connection: Arc<Mutex<Connection>>) -> Sessions {
        Sessions { connection }
    }

    /// Keeps a new session under its token's SHA-256; one with the same hash is replaced.
    pub fn create(&self, token_sha256: &[u8; 32], session: &Session) -> Result<(), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO sessions (token_sha256, user, role, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                token_sha256.as_slice(),
                session.user,
                session.role,
                session.csrf,
                super::now(),
                session.expires_at
            ])?;
        Ok(())
    }

    /// The session whose token hashes to `token_sha256`; `None` when there is none or it has
    /// expired.
    pub fn get(&self, token_sha256: &[u8; 32]) -> Result<Option<Session>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached(
                "SELECT user, role, csrf, expires_at FROM sessions WHERE token_sha256 = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_sha256.as_slice(), super::now()], |row| {
                Ok(Session {
                    user: row.get(0)?,
                    role: row.get(1)?,
                    csrf: row.get(2)?,
                    expires_at: row.get(3)?,
                })
            })
            .optional()
    }

    /// Ends a session (sign-out); ending one that is gone already is no error.
    pub fn delete(&self, token_sha256: &[u8; 32]) -> Result<(), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached("DELETE FROM sessions WHERE token_sha256 = ?1")?
            .execute(params![token_sha256.as_slice()])?;
        Ok(())
    }

    /// Ends every session of `user` (removed, or given another role); how many there were.
    pub fn delete_user(&self, user: &str) -> Result<usize, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached("DELETE FROM sessions WHERE user = ?1")?
            .execute(params![user])
    }

    /// Forgets the expired sessions; how many there were.
    pub fn purge_expired(&self) -> Result<usize, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
            .execute(params![super::now()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn session(user: &str, expires_at: i64) -> Session {
        Session {
            user: user.into(),
            role: "approver".into(),
            csrf: "csrf-token".into(),
            expires_at,
        }
    }

    #[test]
    fn a_session_is_found_by_its_hash_until_it_is_deleted() {
        let sessions = Store::in_memory().unwrap().sessions();
        let later = crate::now() + 3600;
        sessions.create(&[1; 32], &session("alice", later)).unwrap();
        assert_eq!(sessions.get(&[1; 32]).unwrap(), Some(session("alice", later)));
        assert_eq!(sessions.get(&[2; 32]).unwrap(), None, "another token");
        sessions.delete(&[1; 32]).unwrap();
        assert_eq!(sessions.get(&[1; 32]).unwrap(), None);
        sessions.delete(&[1; 32]).unwrap();
    }

    #[test]
    fn an_expired_session_is_not_found_and_is_purged() {
        let sessions = Store::in_memory().unwrap().sessions();
        let now = crate::now();
        sessions.create(&[1; 32], &session("alice", now - 1)).unwrap();
        sessions.create(&[2; 32], &session("alice", now + 3600)).unwrap();
        assert_eq!(sessions.get(&[1; 32]).unwrap(), None);
        assert_eq!(sessions.purge_expired().unwrap(), 1);
        assert!(sessions.get(&[2; 32]).unwrap().is_some());
    }

    #[test]
    fn a_removed_user_is_signed_out_everywhere_and_no_one_else() {
        let sessions = Store::in_memory().unwrap().sessions();
        let later = crate::now() + 3600;
        sessions.create(&[1; 32], &session("alice", later)).unwrap();
        sessions.create(&[2; 32], &session("alice", later)).unwrap();
        sessions.create(&[3; 32], &session("bob", later)).unwrap();
        assert_eq!(sessions.delete_user("alice").unwrap(), 2);
        assert_eq!(sessions.get(&[1; 32]).unwrap(), None);
        assert_eq!(sessions.get(&[2; 32]).unwrap(), None);
        assert!(sessions.get(&[3; 32]).unwrap().is_some());
    }

    #[test]
    fn sessions_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let later = crate::now() + 3600;
        Store::open(&path)
            .unwrap()
            .sessions()
            .create(&[7; 32], &session("alice", later))
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.sessions().get(&[7; 32]).unwrap(),
            Some(session("alice", later))
        );
    }

    #[test]
    fn the_csrf_token_is_not_in_debug_output() {
        let shown = format!("{:?}", session("alice", 1));
        assert!(shown.contains("alice"));
        assert!(!shown.contains("csrf-token"), "{shown}");
    }
}
