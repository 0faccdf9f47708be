//! Who a listener's connections speak for. Inside Linux's sandboxes each
//! sandbox has listeners of its own, so a connection is its listener's
//! sandbox. On macOS the listener is on the host's loopback, which any local
//! process can reach, and one serves every command of a session: a request
//! is the command's whose secret its proxy credentials carry, or no one's.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;

use super::{serve, Client};

/// A listener's clients.
#[derive(Clone)]
pub enum Clients {
    /// Every connection is this sandbox's; no credentials asked.
    One(Arc<Client>),
    /// Each request must carry a secret of the table as its password.
    Tokens(Arc<Tokens>),
}

/// The secrets a loopback listener accepts, each the credential of one
/// wrapped command (its attribution, its per-command list, its pool).
pub struct Tokens {
    table: RwLock<HashMap<String, Arc<Client>>>,
    /// Connections open at once on the listener, whoever they turn out to be.
    connections: Arc<Semaphore>,
}

impl Tokens {
    pub fn new() -> Arc<Tokens> {
        Arc::new(Tokens { table: RwLock::default(), connections: Arc::new(Semaphore::new(serve::connection_cap())) })
    }

    /// From now on `secret` is `client`'s.
    pub fn insert(&self, secret: String, client: Arc<Client>) {
        self.table.write().unwrap_or_else(|e| e.into_inner()).insert(secret, client);
    }

    /// The secrets of the commands wrapped under `list_id` open nothing any
    /// more (their per-command list was unregistered).
    pub fn revoke_list(&self, list_id: &str) {
        self.table.write().unwrap_or_else(|e| e.into_inner()).retain(|_, c| c.list_id.as_deref() != Some(list_id));
    }

    /// The client whose secret `given` is. The table is found by hash (keyed
    /// at random per process, so a guess learns nothing from where it
    /// lands), and the secret found is compared whole, in time that does
    /// not depend on where a wrong guess differs.
    fn find(&self, given: &[u8]) -> Option<Arc<Client>> {
        let given_text = std::str::from_utf8(given).ok()?;
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        let (secret, client) = table.get_key_value(given_text)?;
        same_secret(secret.as_bytes(), given).then(|| client.clone())
    }
}

/// Whether `given` is `secret`, comparing every byte whatever differs.
fn same_secret(secret: &[u8], given: &[u8]) -> bool {
    let differs = secret.iter().zip(given.iter().chain(std::iter::repeat(&0))).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    differs == 0 && given.len() == secret.len() && !secret.is_empty()
}

impl Clients {
    /// Whether requests must carry credentials.
    pub fn require_credentials(&self) -> bool {
        matches!(self, Clients::Tokens(_))
    }

    /// Who sent a request whose proxy password is `password` (none: not
    /// given); none where it does not open this listener.
    pub fn resolve(&self, password: Option<&[u8]>) -> Option<Arc<Client>> {
        match self {
            Clients::One(client) => Some(client.clone()),
            Clients::Tokens(tokens) => tokens.find(password?),
        }
    }

    /// The listener's budget of open connections.
    pub fn connections(&self) -> Arc<Semaphore> {
        match self {
            Clients::One(client) => client.connections.clone(),
            Clients::Tokens(tokens) => tokens.connections.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandboxs_own_listener_asks_nothing_and_a_loopback_one_finds_the_client_by_its_whole_secret() {
        let open = Clients::One(Arc::new(Client::new(Some("a".into()))));
        assert!(!open.require_credentials());
        assert_eq!(open.resolve(None).unwrap().key.as_deref(), Some("a"));
        assert_eq!(open.resolve(Some(b"anything")).unwrap().key.as_deref(), Some("a"));

        let tokens = Tokens::new();
        tokens.insert("t0k".into(), Arc::new(Client::new(Some("first".into()))));
        tokens.insert("s3cret".into(), Arc::new(Client::new(Some("second".into()))));
        let locked = Clients::Tokens(tokens);
        assert!(locked.require_credentials());
        assert_eq!(locked.resolve(Some(b"t0k")).unwrap().key.as_deref(), Some("first"));
        assert_eq!(locked.resolve(Some(b"s3cret")).unwrap().key.as_deref(), Some("second"));
        for wrong in [None, Some(&b""[..]), Some(b"t0"), Some(b"t0kk"), Some(b"T0k"), Some(b"s3cre")] {
            assert!(locked.resolve(wrong).is_none(), "{wrong:?}");
        }
        // Revoked with its list, a secret opens nothing.
        let listed = Tokens::new();
        listed.insert("l1st".into(), Arc::new(Client::with_list(None, Some("id".into()))));
        listed.insert("other".into(), Arc::new(Client::new(None)));
        listed.revoke_list("id");
        let listed = Clients::Tokens(listed);
        assert!(listed.resolve(Some(b"l1st")).is_none());
        assert!(listed.resolve(Some(b"other")).is_some());
        // An empty secret opens nothing, even if one were registered.
        let empty = Tokens::new();
        empty.insert(String::new(), Arc::new(Client::new(None)));
        assert!(Clients::Tokens(empty).resolve(Some(b"")).is_none());
    }
}
