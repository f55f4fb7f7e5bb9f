//! JSON webhooks: a CMMS for tickets, chat tools and receivers for alerts.
//!
//! Every POST carries the delivery's `Idempotency-Key`, so a receiver that
//! saw a message before the daemon learnt it did can drop the repeat. Only
//! a 2xx answer within the timeout counts as delivered.

use std::time::Duration;

use super::{Deliver, Pending};

/// One HTTP endpoint.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    bearer: Option<String>,
}

impl Webhook {
    /// A webhook with its own connection pool and per-attempt timeout.
    pub fn new(url: String, bearer: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("sitewarden/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            url,
            bearer,
        })
    }
}

impl Deliver for Webhook {
    async fn deliver(&mut self, message: &Pending) -> Result<(), String> {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", &message.key)
            .body(message.payload.clone());
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{} answered {status}", self.url))
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.to_string()
    }
}
