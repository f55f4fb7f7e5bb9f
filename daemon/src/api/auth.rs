//! Bearer-token authentication for requests that change state.
//!
//! Tokens live in config only as SHA-256 hashes; a request's token is hashed
//! and compared in constant time. Handlers that change state take a
//! [`Caller`] and check [`Caller::require`] against the roles allowed.

use axum::http::HeaderMap;
use sha2::{Digest as _, Sha256};

use super::error::ApiError;
use sitewarden_model::catalog::ApiToken;
use sitewarden_model::vocab::ApiRole;

/// Who made a request, established from its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token holder, for audit trails.
    pub name: String,
    /// What they may do.
    pub role: ApiRole,
}

impl Caller {
    /// 403 unless the caller's role is among `allowed` (admins always pass).
    pub fn require(&self, allowed: &[ApiRole]) -> Result<(), ApiError> {
        if self.role == ApiRole::Admin || allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "token `{}` has role {:?}, which may not do this",
                self.name, self.role
            )))
        }
    }
}

/// Finds the caller from the `Authorization: Bearer …` header.
pub fn authenticate(headers: &HeaderMap, tokens: &[ApiToken]) -> Result<Caller, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "this request changes state and needs `Authorization: Bearer <token>`",
            )
        })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    authenticate_token(token, tokens)
}

/// Finds the caller from a bare token (MQTT commands carry it in the payload).
pub fn authenticate_token(token: &str, tokens: &[ApiToken]) -> Result<Caller, ApiError> {
    let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    tokens
        .iter()
        .find(|t| constant_time_eq(&t.sha256, &hash))
        .map(|t| Caller {
            name: t.name.clone(),
            role: t.role,
        })
        .ok_or_else(|| ApiError::unauthorized("unknown token"))
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<ApiToken> {
        vec![ApiToken {
            name: "desk".into(),
            role: ApiRole::FrontDesk,
            sha256: Sha256::digest(b"s3cret").into(),
        }]
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn a_known_token_names_its_holder() {
        let caller = authenticate(&headers("Bearer s3cret"), &tokens()).unwrap();
        assert_eq!(caller.name, "desk");
        assert!(caller.require(&[ApiRole::FrontDesk]).is_ok());
        assert_eq!(
            caller.require(&[ApiRole::Engineer]).unwrap_err().status,
            403
        );
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_401() {
        assert_eq!(
            authenticate(&HeaderMap::new(), &tokens())
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            authenticate(&headers("Basic abc"), &tokens())
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            authenticate(&headers("Bearer wrong"), &tokens())
                .unwrap_err()
                .status,
            401
        );
    }
}
