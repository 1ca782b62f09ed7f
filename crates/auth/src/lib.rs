//! Authentication and the access rules.
//!
//! Every call carries `authorization: Bearer <JWT>`. [`Verifier`] checks it with the algorithm
//! pinned by configuration (HS256 shared secret for development; RS256, ES256 or EdDSA public keys
//! chosen by `kid` for production) and requires `exp`, `iss`, `aud`, `sub`, `org` and `role`.
//! The result is a [`Caller`]. Whether a caller may read or write an organisation's data is
//! answered by [`policy`] alone. A verified token is remembered until its `exp`, so a client
//! sending the same token on every call pays for its signature check once.

mod cache;
mod caller;
mod mint;
pub mod policy;
mod verify;

pub use cache::DEFAULT_TOKEN_CACHE_ENTRIES;
pub use caller::{Caller, OrgKind, Role};
pub use mint::{Minter, TokenRequest};
pub use policy::OrgScope;
pub use verify::{AuthError, KeySet, MAX_TOKEN_BYTES, Verifier, VerifierConfig};
