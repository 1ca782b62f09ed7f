//! Every refusal the verifier must make, and the acceptances that show it is not refusing all.

use std::collections::HashMap;
use std::path::PathBuf;

use almo_auth::{AuthError, KeySet, Role, Verifier, VerifierConfig};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
use serde_json::json;

const SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";
const ISS: &str = "almo-test";
const AUD: &str = "almo-exchange";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> serde_json::Value {
    json!({"sub": "alice", "org": "E09000022", "role": "council_officer",
           "iss": ISS, "aud": AUD, "exp": now() + 600})
}

fn hs_verifier() -> Verifier {
    Verifier::new(VerifierConfig {
        algorithm: Algorithm::HS256,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys: KeySet::Secret(SECRET.to_vec()),
        leeway_secs: 0,
    })
    .unwrap()
}

fn public_verifier(alg: Algorithm, kid: &str, pem: &str) -> Verifier {
    let keys = KeySet::from_pem_files(alg, &[(kid.to_string(), keys_dir().join(pem))]).unwrap();
    Verifier::new(VerifierConfig {
        algorithm: alg,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys,
        leeway_secs: 0,
    })
    .unwrap()
}

fn hs_token(claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn rs_token(claims: &serde_json::Value, kid: Option<&str>) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = kid.map(Into::into);
    encode(
        &h,
        claims,
        &EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap(),
    )
    .unwrap()
}

#[test]
fn valid_hs256_token_gives_the_caller() {
    let caller = hs_verifier().verify(&hs_token(&claims())).unwrap();
    assert_eq!(caller.subject, "alice");
    assert_eq!(caller.organisation_id, "E09000022");
    assert_eq!(caller.role, Role::CouncilOfficer);
}

#[test]
fn expired_token_is_refused() {
    let mut c = claims();
    c["exp"] = json!(now() - 120);
    assert_eq!(hs_verifier().verify(&hs_token(&c)), Err(AuthError::Expired));
}

#[test]
fn wrong_audience_is_refused() {
    let mut c = claims();
    c["aud"] = json!("some-other-api");
    assert_eq!(
        hs_verifier().verify(&hs_token(&c)),
        Err(AuthError::WrongAudience)
    );
}

#[test]
fn wrong_issuer_is_refused() {
    let mut c = claims();
    c["iss"] = json!("someone-else");
    assert_eq!(
        hs_verifier().verify(&hs_token(&c)),
        Err(AuthError::WrongIssuer)
    );
}

#[test]
fn missing_exp_is_refused() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        hs_verifier().verify(&hs_token(&c)),
        Err(AuthError::MissingClaim("exp".into()))
    );
}

#[test]
fn missing_org_claim_is_refused() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("org");
    assert_eq!(
        hs_verifier().verify(&hs_token(&c)),
        Err(AuthError::MissingClaim("org".into()))
    );
}

#[test]
fn unknown_role_is_refused() {
    let mut c = claims();
    c["role"] = json!("superuser");
    assert!(matches!(
        hs_verifier().verify(&hs_token(&c)),
        Err(AuthError::BadRole(_))
    ));
}

#[test]
fn alg_none_is_refused() {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64(claims().to_string().as_bytes());
    let token = format!("{header}.{body}.");
    assert!(matches!(
        hs_verifier().verify(&token),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn hs256_token_signed_with_the_rsa_public_key_is_refused() {
    // The classic confusion: the attacker signs with HS256 using the server's public key as the
    // secret, hoping the server verifies with whatever the header says.
    let v = public_verifier(Algorithm::RS256, "rsa-2026", "rsa_public.pem");
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa-2026".into());
    let token = encode(
        &h,
        &claims(),
        &EncodingKey::from_secret(&read("rsa_public.pem")),
    )
    .unwrap();
    assert!(matches!(
        v.verify(&token),
        Err(AuthError::WrongAlgorithm { .. })
    ));
}

#[test]
fn rs256_token_is_refused_by_an_hs256_server() {
    let token = rs_token(&claims(), Some("rsa-2026"));
    assert!(matches!(
        hs_verifier().verify(&token),
        Err(AuthError::WrongAlgorithm { .. })
    ));
}

#[test]
fn tampered_signature_is_refused() {
    let v = public_verifier(Algorithm::RS256, "rsa-2026", "rsa_public.pem");
    let token = rs_token(&claims(), Some("rsa-2026"));
    assert!(v.verify(&token).is_ok());
    // Swap the payload for one that claims the admin role; keep the signature.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut c = claims();
    c["role"] = json!("admin");
    parts[1] = URL_SAFE_NO_PAD.encode(c.to_string().as_bytes());
    assert_eq!(v.verify(&parts.join(".")), Err(AuthError::BadSignature));
    // And a flipped signature byte on the untouched payload.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut sig = parts[2].clone().into_bytes();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    parts[2] = String::from_utf8(sig).unwrap();
    assert_eq!(v.verify(&parts.join(".")), Err(AuthError::BadSignature));
}

#[test]
fn unknown_kid_is_refused() {
    let v = public_verifier(Algorithm::RS256, "rsa-2026", "rsa_public.pem");
    let token = rs_token(&claims(), Some("rsa-2019"));
    assert_eq!(
        v.verify(&token),
        Err(AuthError::UnknownKid("rsa-2019".into()))
    );
}

#[test]
fn missing_kid_is_refused_when_keys_are_chosen_by_kid() {
    let v = public_verifier(Algorithm::RS256, "rsa-2026", "rsa_public.pem");
    assert_eq!(
        v.verify(&rs_token(&claims(), None)),
        Err(AuthError::MissingKid)
    );
}

#[test]
fn es256_and_eddsa_tokens_verify_with_their_public_keys() {
    for (alg, private, public) in [
        (Algorithm::ES256, "ec_private.pem", "ec_public.pem"),
        (Algorithm::EdDSA, "ed_private.pem", "ed_public.pem"),
    ] {
        let v = public_verifier(alg, "k1", public);
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&read(private)).unwrap(),
            _ => EncodingKey::from_ed_pem(&read(private)).unwrap(),
        };
        let mut h = Header::new(alg);
        h.kid = Some("k1".into());
        let token = encode(&h, &claims(), &key).unwrap();
        assert_eq!(v.verify(&token).unwrap().subject, "alice", "{alg:?}");
    }
}

#[test]
fn jwks_file_keys_are_chosen_by_kid() {
    let keys = KeySet::from_jwks_file(&keys_dir().join("jwks.json")).unwrap();
    let v = Verifier::new(VerifierConfig {
        algorithm: Algorithm::RS256,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys,
        leeway_secs: 0,
    })
    .unwrap();
    assert!(v.verify(&rs_token(&claims(), Some("rsa-2026"))).is_ok());
    assert_eq!(
        v.verify(&rs_token(&claims(), Some("other"))),
        Err(AuthError::UnknownKid("other".into()))
    );
}

#[test]
fn configuration_mismatches_are_refused_at_start_up() {
    let short = VerifierConfig {
        algorithm: Algorithm::HS256,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys: KeySet::Secret(b"short".to_vec()),
        leeway_secs: 0,
    };
    assert!(Verifier::new(short).is_err());
    let mut keys = HashMap::new();
    keys.insert(
        "k".to_string(),
        DecodingKey::from_rsa_pem(&read("rsa_public.pem")).unwrap(),
    );
    let hs_with_public = VerifierConfig {
        algorithm: Algorithm::HS256,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys: KeySet::Public(keys),
        leeway_secs: 0,
    };
    assert!(Verifier::new(hs_with_public).is_err());
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let token = format!("{}.{}", hs_token(&claims()), "A".repeat(100 * 1024));
    assert_eq!(
        hs_verifier().verify(&token),
        Err(AuthError::TooLong(token.len()))
    );
    assert_eq!(AuthError::TooLong(token.len()).reason(), "TOKEN_MALFORMED");
}

// The verified-token cache: what the full check refuses, a remembered token does not slip past.

fn hs_verifier_with_secret(secret: &[u8]) -> Verifier {
    Verifier::new(VerifierConfig {
        algorithm: Algorithm::HS256,
        issuer: ISS.into(),
        audience: AUD.into(),
        keys: KeySet::Secret(secret.to_vec()),
        leeway_secs: 0,
    })
    .unwrap()
}

#[test]
fn a_cached_token_is_refused_once_it_has_expired() {
    let v = hs_verifier();
    let mut c = claims();
    c["exp"] = json!(now() + 2);
    let token = hs_token(&c);
    assert_eq!(v.verify(&token).unwrap().subject, "alice");
    assert_eq!(v.cached_tokens(), 1, "the verified token is remembered");
    assert_eq!(v.verify(&token).unwrap().subject, "alice");
    // Past exp (no leeway configured): refused although it was remembered.
    while now() < c["exp"].as_i64().unwrap() + 1 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(v.verify(&token).unwrap_err(), AuthError::Expired);
    assert_eq!(v.cached_tokens(), 0);
}

#[test]
fn a_token_remembered_by_one_verifier_is_refused_by_a_verifier_with_another_key() {
    let ours = hs_verifier();
    let token = hs_token(&claims());
    ours.verify(&token).unwrap();
    assert_eq!(ours.cached_tokens(), 1);
    let other = hs_verifier_with_secret(b"another-secret-that-is-at-least-32-bytes");
    assert_eq!(other.verify(&token).unwrap_err(), AuthError::BadSignature);
    // The same claims signed with the other key are refused by ours, though its twin is cached.
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret-that-is-at-least-32-bytes"),
    )
    .unwrap();
    assert_eq!(ours.verify(&forged).unwrap_err(), AuthError::BadSignature);
    // Clones share the cache and its keys.
    assert_eq!(ours.clone().cached_tokens(), 1);
}

#[test]
fn the_token_cache_is_bounded() {
    let v = hs_verifier().with_token_cache(8);
    for n in 0..50 {
        let mut c = claims();
        c["sub"] = json!(format!("user{n}"));
        let caller = v.verify(&hs_token(&c)).unwrap();
        assert_eq!(caller.subject, format!("user{n}"));
        assert!(v.cached_tokens() <= 8, "{} remembered", v.cached_tokens());
    }
    let none = hs_verifier().with_token_cache(0);
    none.verify(&hs_token(&claims())).unwrap();
    assert_eq!(none.cached_tokens(), 0);
}

#[test]
fn a_refused_token_is_not_remembered() {
    let v = hs_verifier();
    let mut c = claims();
    c["aud"] = json!("someone-else");
    assert_eq!(
        v.verify(&hs_token(&c)).unwrap_err(),
        AuthError::WrongAudience
    );
    assert_eq!(v.cached_tokens(), 0);
}
