//! Bearer-token authentication for requests that change state.
//!
//! Tokens live in config only as SHA-256 hashes; a request's token is hashed
//! and compared in constant time ([`crate::control::authenticate_token`]).
//! Handlers that change state hand the [`Caller`] and a command to
//! [`crate::control::Control`], which checks the role.

use axum::http::HeaderMap;

use super::error::ApiError;
pub use crate::control::Caller;
use crate::control::authenticate_token;
use sitewarden_model::catalog::ApiToken;

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
    Ok(authenticate_token(token, tokens)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};
    use sitewarden_model::vocab::ApiRole;

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
            ApiError::from(caller.require(&[ApiRole::Engineer]).unwrap_err()).status,
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
