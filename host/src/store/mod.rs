//! The embedded durable store: an SQLite database in the state folder.

mod kv;

pub use kv::{KvError, KvStore};
