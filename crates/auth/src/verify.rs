use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tonic::metadata::MetadataMap;

use crate::cache::{DEFAULT_TOKEN_CACHE_ENTRIES, TokenCache};
use crate::{Caller, Role};

/// Longest bearer token accepted. The suite's tokens are a few hundred bytes; an identity
/// provider's with many claims stay well under this.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. Every variant becomes `UNAUTHENTICATED` with its [`AuthError::reason`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing authorization metadata: send `authorization: Bearer <token>`")]
    Missing,
    #[error("authorization metadata is not `Bearer <token>`")]
    NotBearer,
    #[error("token is {0} bytes; a token of this suite is at most {MAX_TOKEN_BYTES}")]
    TooLong(usize),
    #[error("token is malformed: {0}")]
    Malformed(String),
    #[error("token algorithm {found} is not the configured {expected}")]
    WrongAlgorithm { expected: String, found: String },
    #[error("token has no `kid` header; this server chooses its key by kid")]
    MissingKid,
    #[error("token key id {0:?} is not known")]
    UnknownKid(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is not the configured issuer")]
    WrongIssuer,
    #[error("token audience is not this suite")]
    WrongAudience,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token lacks required claim {0:?}")]
    MissingClaim(String),
    #[error("token claim `role`: {0}")]
    BadRole(String),
}

impl AuthError {
    /// The stable reason code of the refusal (`ErrorInfo.reason`; the status is built with the
    /// others' in `almo_server::AppError`): `TOKEN_MISSING` (no `authorization`),
    /// `TOKEN_MALFORMED` (not `Bearer <token>`, too long, or not a JWT), `TOKEN_EXPIRED`, or
    /// `TOKEN_INVALID` (signature, key, algorithm, issuer, audience, claims, not yet valid).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "TOKEN_MISSING",
            AuthError::NotBearer | AuthError::TooLong(_) | AuthError::Malformed(_) => {
                "TOKEN_MALFORMED"
            }
            AuthError::Expired => "TOKEN_EXPIRED",
            AuthError::WrongAlgorithm { .. }
            | AuthError::MissingKid
            | AuthError::UnknownKid(_)
            | AuthError::NotYetValid
            | AuthError::WrongIssuer
            | AuthError::WrongAudience
            | AuthError::BadSignature
            | AuthError::MissingClaim(_)
            | AuthError::BadRole(_) => "TOKEN_INVALID",
        }
    }
}

/// The keys tokens are checked against.
#[derive(Clone)]
pub enum KeySet {
    /// HS256 shared secret (development). `kid` is ignored.
    Secret(Vec<u8>),
    /// Public keys by `kid` (production): RS256, ES256 or EdDSA.
    Public(HashMap<String, DecodingKey>),
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySet::Secret(_) => f.write_str("KeySet::Secret(..)"),
            KeySet::Public(keys) => {
                let mut kids: Vec<_> = keys.keys().collect();
                kids.sort();
                write!(f, "KeySet::Public({kids:?})")
            }
        }
    }
}

impl KeySet {
    /// Reads PEM public keys: `(kid, path)` pairs.
    pub fn from_pem_files(
        algorithm: Algorithm,
        files: &[(String, std::path::PathBuf)],
    ) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for (kid, path) in files {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let key = match algorithm {
                Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
                other => return Err(format!("{other:?} does not use public keys")),
            }
            .map_err(|e| format!("{}: {e}", path.display()))?;
            keys.insert(kid.clone(), key);
        }
        Ok(KeySet::Public(keys))
    }

    /// Reads a JWKS file; every key must carry a `kid`.
    pub fn from_jwks_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let set: JwkSet =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| format!("{}: a key has no kid", path.display()))?;
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("{kid}: {e}"))?;
            keys.insert(kid, key);
        }
        Ok(KeySet::Public(keys))
    }
}

/// What the verifier needs.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The one algorithm accepted; a token with any other is refused.
    pub algorithm: Algorithm,
    pub issuer: String,
    pub audience: String,
    pub keys: KeySet,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

#[derive(Deserialize)]
struct SuiteClaims {
    /// Checked by the validation; read again here for how long the token may be remembered.
    exp: Option<f64>,
    sub: Option<String>,
    org: Option<String>,
    role: Option<String>,
}

/// Verifies bearer tokens. A token that passes is remembered until its `exp` (see
/// [`Verifier::with_token_cache`]); clones share what is remembered.
#[derive(Clone)]
pub struct Verifier {
    config: VerifierConfig,
    validation: Validation,
    secret: Option<DecodingKey>,
    cache: Arc<TokenCache>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish()
    }
}

impl Verifier {
    pub fn new(config: VerifierConfig) -> Result<Self, String> {
        match (&config.keys, config.algorithm) {
            (KeySet::Secret(s), Algorithm::HS256) => {
                if s.len() < 32 {
                    return Err("the HS256 secret must be at least 32 bytes".into());
                }
            }
            (KeySet::Secret(_), alg) => {
                return Err(format!("{alg:?} needs public keys, not a shared secret"));
            }
            (KeySet::Public(_), Algorithm::HS256) => {
                return Err("HS256 needs a shared secret, not public keys".into());
            }
            (KeySet::Public(keys), _) if keys.is_empty() => {
                return Err("no public keys configured".into());
            }
            (KeySet::Public(_), Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA) => {}
            (_, alg) => return Err(format!("algorithm {alg:?} is not supported")),
        }
        let mut validation = Validation::new(config.algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = config.leeway_secs;
        validation.validate_nbf = true;
        let secret = match &config.keys {
            KeySet::Secret(s) => Some(DecodingKey::from_secret(s)),
            KeySet::Public(_) => None,
        };
        Ok(Self {
            config,
            validation,
            secret,
            cache: Arc::new(TokenCache::new(DEFAULT_TOKEN_CACHE_ENTRIES)),
        })
    }

    /// Remembers at most `entries` verified tokens (0: none, every call checks its token in
    /// full). A remembered token is served only before its `exp`, and only by this verifier and
    /// its clones, which hold the same keys.
    pub fn with_token_cache(mut self, entries: usize) -> Self {
        self.cache = Arc::new(TokenCache::new(entries));
        self
    }

    /// How many verified tokens are remembered now.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Checks a token and returns the caller it names.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLong(token.len()));
        }
        let now = unix_now();
        if let Some(caller) = self.cache.get(token, now) {
            return Ok(caller);
        }
        let header = decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        if header.alg != self.config.algorithm {
            return Err(AuthError::WrongAlgorithm {
                expected: format!("{:?}", self.config.algorithm),
                found: format!("{:?}", header.alg),
            });
        }
        let key = match (&self.secret, &self.config.keys) {
            (Some(secret), _) => secret,
            (None, KeySet::Public(keys)) => {
                let kid = header.kid.ok_or(AuthError::MissingKid)?;
                keys.get(&kid)
                    .ok_or_else(|| AuthError::UnknownKid(kid.chars().take(40).collect()))?
            }
            (None, KeySet::Secret(_)) => unreachable!("a secret key set always has a secret"),
        };
        let data = decode::<SuiteClaims>(token, key, &self.validation).map_err(map_jwt_error)?;
        let claims = data.claims;
        let subject = non_empty(claims.sub, "sub")?;
        let organisation_id = non_empty(claims.org, "org")?;
        let role: Role = non_empty(claims.role, "role")?
            .parse()
            .map_err(AuthError::BadRole)?;
        let caller = Caller {
            subject,
            organisation_id,
            role,
        };
        if let Some(exp) = claims.exp.filter(|e| e.is_finite() && *e > 0.0) {
            self.cache.insert(token, &caller, exp as u64, now);
        }
        Ok(caller)
    }

    /// Reads `authorization: Bearer <token>` from gRPC metadata and verifies it.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, AuthError> {
        let value = metadata.get("authorization").ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::NotBearer)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::NotBearer)?;
        self.verify(token.trim())
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn non_empty(v: Option<String>, name: &str) -> Result<String, AuthError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(AuthError::MissingClaim(name.to_string())),
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => AuthError::Expired,
        K::ImmatureSignature => AuthError::NotYetValid,
        K::InvalidIssuer => AuthError::WrongIssuer,
        K::InvalidAudience => AuthError::WrongAudience,
        K::InvalidSignature => AuthError::BadSignature,
        K::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
        K::InvalidAlgorithm => AuthError::WrongAlgorithm {
            expected: "configured".into(),
            found: "other".into(),
        },
        _ => AuthError::Malformed(e.to_string()),
    }
}
