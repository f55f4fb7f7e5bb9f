//! Why a command was refused, the same for every front end: HTTP maps it to
//! a status and a JSON body, MQTT to a response message with the same
//! status number and code.

use crate::alerts::AlertError;
use crate::rules::RequestError;
use crate::tickets::TicketError;

/// The kinds of refusal, each with a stable code and an HTTP-like status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is wrong.
    BadRequest,
    /// No or unknown token.
    Unauthorized,
    /// The token's role may not do this.
    Forbidden,
    /// No such thing.
    NotFound,
    /// The request conflicts with the current state.
    Conflict,
    /// The daemon is stopping.
    Unavailable,
    /// The daemon failed.
    Internal,
}

impl Refusal {
    /// The stable code clients switch on.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status number, also used in MQTT responses.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// A refused command: kind, a sentence for people, and for a refused
/// lifecycle step the steps allowed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// What kind of refusal.
    pub kind: Refusal,
    /// What went wrong and what would be right.
    pub message: String,
    /// For a refused ticket step: the steps that are allowed now.
    pub allowed: Vec<&'static str>,
}

impl CommandError {
    /// A refusal of `kind` saying `message`.
    pub fn new(kind: Refusal, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            allowed: Vec::new(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<AlertError> for CommandError {
    fn from(e: AlertError) -> Self {
        let kind = match &e {
            AlertError::NotFound(_) => Refusal::NotFound,
            AlertError::Conflict(_) => Refusal::Conflict,
            AlertError::Invalid(_) => Refusal::BadRequest,
            AlertError::Store(_) => Refusal::Internal,
            AlertError::Stopping => Refusal::Unavailable,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<TicketError> for CommandError {
    fn from(e: TicketError) -> Self {
        let kind = match &e {
            TicketError::NotFound(_) => Refusal::NotFound,
            TicketError::Illegal { .. } => Refusal::Conflict,
            TicketError::Invalid(_) => Refusal::BadRequest,
            TicketError::Store(_) => Refusal::Internal,
            TicketError::Stopping => Refusal::Unavailable,
        };
        let mut error = Self::new(kind, e.to_string());
        if let TicketError::Illegal { allowed, .. } = &e {
            error.allowed = allowed.iter().map(|a| a.as_str()).collect();
        }
        error
    }
}

impl From<RequestError> for CommandError {
    fn from(e: RequestError) -> Self {
        let kind = match e {
            RequestError::UnknownDevice(_) | RequestError::UnknownRule(_) => Refusal::NotFound,
            RequestError::NoCounter { .. } => Refusal::Conflict,
            RequestError::Stopping => Refusal::Unavailable,
        };
        Self::new(kind, e.to_string())
    }
}
