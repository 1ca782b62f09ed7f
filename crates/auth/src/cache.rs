//! Tokens already verified, remembered until their `exp`.
//!
//! A client sends the same bearer token on every call until it expires; checking its signature
//! and parsing its claims each time is most of the cost of authentication. The cache belongs to
//! one [`crate::Verifier`] (its keys, issuer, audience and algorithm), so a token verified under
//! one key set is never accepted by a verifier holding another. An entry is found by a keyed hash
//! of the token's bytes and then compared with the whole token, so two tokens never share an
//! entry. It is served only while the clock is before the token's `exp` (the leeway the full
//! check allows is not used here), and the number of entries is bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use crate::Caller;

/// Entries a verifier keeps by default: one per token in use at once is plenty.
pub const DEFAULT_TOKEN_CACHE_ENTRIES: usize = 10_000;

struct Entry {
    token: Box<str>,
    caller: Caller,
    /// Seconds since the Unix epoch: the token's `exp`.
    expires: u64,
}

pub(crate) struct TokenCache {
    capacity: usize,
    hasher: RandomState,
    entries: Mutex<HashMap<u64, Entry>>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            hasher: RandomState::new(),
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
        }
    }

    /// The caller of `token` if it was verified before and `now` (Unix seconds) is before its
    /// `exp`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Caller> {
        if self.capacity == 0 {
            return None;
        }
        let key = self.hasher.hash_one(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&key)?;
        if &*entry.token != token {
            return None;
        }
        if now >= entry.expires {
            entries.remove(&key);
            return None;
        }
        Some(entry.caller.clone())
    }

    /// Remembers a token that has just passed the full check. When the cache is full, expired
    /// entries go first, then half of the others (any half: a client whose token is dropped pays
    /// for one more full check).
    pub(crate) fn insert(&self, token: &str, caller: &Caller, expires: u64, now: u64) {
        if self.capacity == 0 || now >= expires {
            return;
        }
        let key = self.hasher.hash_one(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| now < e.expires);
            if entries.len() >= self.capacity {
                let drop: Vec<u64> = entries
                    .keys()
                    .take(entries.len() - self.capacity / 2)
                    .copied()
                    .collect();
                for k in drop {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(
            key,
            Entry {
                token: token.into(),
                caller: caller.clone(),
                expires,
            },
        );
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::TokenCache;
    use crate::{Caller, Role};

    fn caller(n: usize) -> Caller {
        Caller {
            subject: format!("user{n}"),
            organisation_id: "E09000022".into(),
            role: Role::CouncilOfficer,
        }
    }

    #[test]
    fn an_entry_is_not_served_at_or_after_its_exp() {
        let cache = TokenCache::new(4);
        cache.insert("t", &caller(1), 1_000, 900);
        assert_eq!(cache.get("t", 999).unwrap().subject, "user1");
        assert!(cache.get("t", 1_000).is_none());
        assert!(cache.get("t", 999).is_none(), "the expired entry is gone");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_token_already_expired_is_not_remembered() {
        let cache = TokenCache::new(4);
        cache.insert("t", &caller(1), 1_000, 1_000);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn only_the_same_token_finds_an_entry() {
        let cache = TokenCache::new(4);
        cache.insert("token-a", &caller(1), 1_000, 0);
        assert!(cache.get("token-b", 1).is_none());
        assert!(cache.get("token-a ", 1).is_none());
        assert_eq!(cache.get("token-a", 1).unwrap().subject, "user1");
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_and_stays_within_its_bound() {
        let cache = TokenCache::new(10);
        for n in 0..5 {
            cache.insert(&format!("old{n}"), &caller(n), 100, 0);
        }
        for n in 0..5 {
            cache.insert(&format!("new{n}"), &caller(n), 1_000, 0);
        }
        assert_eq!(cache.len(), 10);
        cache.insert("one-more", &caller(99), 1_000, 200);
        assert_eq!(cache.len(), 6, "the five expired entries made room");
        for n in 0..5 {
            assert!(cache.get(&format!("new{n}"), 200).is_some());
        }
        for n in 0..100 {
            cache.insert(&format!("flood{n}"), &caller(n), 1_000, 200);
            assert!(cache.len() <= 10);
        }
    }

    #[test]
    fn a_cache_of_no_entries_remembers_nothing() {
        let cache = TokenCache::new(0);
        cache.insert("t", &caller(1), 1_000, 0);
        assert!(cache.get("t", 1).is_none());
        assert_eq!(cache.len(), 0);
    }
}
