//! JSON errors: every API failure has the same shape and a plain message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An API failure: status, stable machine code, sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code clients can switch on (`not_found`, `bad_request`, …).
    pub code: &'static str,
    /// What went wrong and what would be right.
    pub message: String,
    /// For a refused lifecycle step: the steps that are allowed now.
    pub allowed: Vec<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    allowed: &'a [&'static str],
}

impl ApiError {
    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 413: the body is larger than this request takes.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 401: no or unknown token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 403: the token's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            allowed: Vec::new(),
        }
    }
}

impl ApiError {
    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 500: the daemon failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 408: the request (its body included) took too long.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "timeout",
            message: message.into(),
            allowed: Vec::new(),
        }
    }

    /// 503: the daemon is stopping.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
            allowed: Vec::new(),
        }
    }
}

impl From<crate::control::CommandError> for ApiError {
    fn from(e: crate::control::CommandError) -> Self {
        Self {
            status: StatusCode::from_u16(e.kind.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.kind.code(),
            message: e.message,
            allowed: e.allowed,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                allowed: &self.allowed,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
