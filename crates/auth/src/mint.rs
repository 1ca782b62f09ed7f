use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Serialize;

use crate::Role;

/// What to put in a development token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub subject: String,
    pub organisation_id: String,
    pub role: Role,
    pub ttl_secs: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    org: &'a str,
    role: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// Mints HS256 tokens with the development secret: `almo token` and the tests. Production tokens
/// come from the organisation's identity provider, signed with a private key this suite never sees.
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl Minter {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    pub fn mint(&self, req: &TokenRequest) -> String {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: &req.subject,
            org: &req.organisation_id,
            role: req.role.as_str(),
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            exp: now + req.ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .expect("HS256 encoding with a secret cannot fail")
    }
}
