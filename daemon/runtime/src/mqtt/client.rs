//! One face for MQTT 3.1.1 and MQTT 5 (rumqttc's two clients), so the
//! publisher and the source are written once for both protocol versions.

use sitewarden_model::vocab::Protocol;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill as LastWill5, Packet as Packet5};
use rumqttc::{Packet, QoS, TlsConfiguration, Transport};

use sitewarden_model::catalog::{MqttBroker, MqttSettings};

/// A client handle of either version.
#[derive(Clone)]
pub enum Client {
    /// MQTT 3.1.1.
    V4(rumqttc::AsyncClient),
    /// MQTT 5.
    V5(v5::AsyncClient),
}

/// The event loop of either version; the owner polls it.
pub enum EventLoop {
    /// MQTT 3.1.1.
    V4(Box<rumqttc::EventLoop>),
    /// MQTT 5.
    V5(Box<v5::EventLoop>),
}

/// What the owner of an event loop cares about.
pub enum Incoming {
    /// Connected (again).
    ConnAck,
    /// The broker confirmed a QoS 1 publish.
    PubAck,
    /// A message on a subscribed topic.
    Publish {
        /// Its topic.
        topic: String,
        /// Its payload.
        payload: Bytes,
        /// Whether the broker sent it as a retained message (an old one, not news).
        retain: bool,
    },
    /// Anything else.
    Other,
}

/// Connection parameters beyond `[mqtt]`.
pub struct ConnectOptions<'a> {
    /// Client id.
    pub client_id: String,
    /// Last will: topic and payload, QoS 1, retained.
    pub last_will: Option<(&'a str, &'a str)>,
    /// Largest packet in either direction.
    pub max_packet: usize,
    /// Requests queued before calls wait.
    pub capacity: usize,
}

fn endpoint(settings: &MqttSettings) -> (String, u16) {
    match &settings.broker {
        MqttBroker::External { host, port } => (host.clone(), *port),
        MqttBroker::Embedded { listen, .. } => ("127.0.0.1".to_owned(), listen.port()),
    }
}

fn transport(settings: &MqttSettings) -> Option<Transport> {
    settings.tls.as_ref().map(|tls| {
        Transport::tls_with_config(TlsConfiguration::Simple {
            ca: tls.ca.clone(),
            alpn: None,
            client_auth: tls.client.clone(),
        })
    })
}

/// Creates a client and its event loop for the configured protocol.
pub fn connect(settings: &MqttSettings, options: ConnectOptions<'_>) -> (Client, EventLoop) {
    let (host, port) = endpoint(settings);
    let password = settings
        .password
        .as_ref()
        .map_or("", |p| p.expose())
        .to_owned();
    match settings.protocol {
        Protocol::V311 => {
            let mut o = rumqttc::MqttOptions::new(options.client_id, host, port);
            o.set_keep_alive(settings.keep_alive);
            o.set_clean_session(true);
            o.set_max_packet_size(options.max_packet, options.max_packet);
            if let Some((topic, payload)) = options.last_will {
                o.set_last_will(rumqttc::LastWill::new(
                    topic,
                    payload,
                    QoS::AtLeastOnce,
                    true,
                ));
            }
            if let Some(user) = &settings.username {
                o.set_credentials(user.clone(), password);
            }
            if let Some(t) = transport(settings) {
                o.set_transport(t);
            }
            let (client, eventloop) = rumqttc::AsyncClient::new(o, options.capacity);
            (Client::V4(client), EventLoop::V4(Box::new(eventloop)))
        }
        Protocol::V5 => {
            let mut o = v5::MqttOptions::new(options.client_id, host, port);
            o.set_keep_alive(settings.keep_alive.max(Duration::from_secs(5)));
            o.set_clean_start(true);
            o.set_max_packet_size(Some(options.max_packet as u32));
            if let Some((topic, payload)) = options.last_will {
                o.set_last_will(LastWill5::new(
                    topic,
                    payload.as_bytes().to_vec(),
                    QoS5::AtLeastOnce,
                    true,
                    None,
                ));
            }
            if let Some(user) = &settings.username {
                o.set_credentials(user.clone(), password);
            }
            if let Some(t) = transport(settings) {
                o.set_transport(t);
            }
            let (client, eventloop) = v5::AsyncClient::new(o, options.capacity);
            (Client::V5(client), EventLoop::V5(Box::new(eventloop)))
        }
    }
}

fn qos(at_least_once: bool) -> (QoS, QoS5) {
    if at_least_once {
        (QoS::AtLeastOnce, QoS5::AtLeastOnce)
    } else {
        (QoS::AtMostOnce, QoS5::AtMostOnce)
    }
}

impl Client {
    /// Publishes (QoS 1 when `at_least_once`, else QoS 0), waiting for queue space.
    pub async fn publish(
        &self,
        topic: String,
        at_least_once: bool,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let (q4, q5) = qos(at_least_once);
        match self {
            Self::V4(c) => c
                .publish(topic, q4, retain, payload)
                .await
                .map_err(|e| e.to_string()),
            Self::V5(c) => c
                .publish(topic, q5, retain, payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Publishes if the request queue has room; never waits.
    pub fn try_publish(
        &self,
        topic: String,
        at_least_once: bool,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let (q4, q5) = qos(at_least_once);
        match self {
            Self::V4(c) => c
                .try_publish(topic, q4, retain, payload)
                .map_err(|e| e.to_string()),
            Self::V5(c) => c
                .try_publish(topic, q5, retain, payload)
                .map_err(|e| e.to_string()),
        }
    }

    /// Subscribes to every filter with QoS 1 in one SUBSCRIBE; never waits.
    pub fn try_subscribe_many(&self, filters: Vec<String>) -> Result<(), String> {
        match self {
            Self::V4(c) => c
                .try_subscribe_many(
                    filters
                        .into_iter()
                        .map(|f| rumqttc::SubscribeFilter::new(f, QoS::AtLeastOnce)),
                )
                .map_err(|e| e.to_string()),
            Self::V5(c) => c
                .try_subscribe_many(
                    filters
                        .into_iter()
                        .map(|f| Filter::new(f, QoS5::AtLeastOnce)),
                )
                .map_err(|e| e.to_string()),
        }
    }
}

impl EventLoop {
    /// Drives the connection one step; an error means it broke (polling
    /// again reconnects).
    pub async fn poll(&mut self) -> Result<Incoming, String> {
        match self {
            Self::V4(l) => match l.poll().await.map_err(|e| e.to_string())? {
                rumqttc::Event::Incoming(Packet::ConnAck(_)) => Ok(Incoming::ConnAck),
                rumqttc::Event::Incoming(Packet::PubAck(_)) => Ok(Incoming::PubAck),
                rumqttc::Event::Incoming(Packet::Publish(p)) => Ok(Incoming::Publish {
                    topic: p.topic,
                    payload: p.payload,
                    retain: p.retain,
                }),
                _ => Ok(Incoming::Other),
            },
            Self::V5(l) => match l.poll().await.map_err(|e| e.to_string())? {
                v5::Event::Incoming(Packet5::ConnAck(_)) => Ok(Incoming::ConnAck),
                v5::Event::Incoming(Packet5::PubAck(_)) => Ok(Incoming::PubAck),
                v5::Event::Incoming(Packet5::Publish(p)) => Ok(Incoming::Publish {
                    topic: String::from_utf8_lossy(&p.topic).into_owned(),
                    payload: p.payload,
                    retain: p.retain,
                }),
                _ => Ok(Incoming::Other),
            },
        }
    }
}
