//! The InfluxDB sink: readings and events as line protocol, written in
//! batches with the `influxdb2` client, and never lost to an outage.
//!
//! The encoder task turns bus events into lines and cuts batches by size
//! and age. The writer task sends them; a batch that fails goes to the
//! [`buffer::DiskBuffer`], and the writer replays the buffer oldest first
//! while new batches keep flowing. Delivery is at-least-once: a crash
//! between a write and its acknowledgement resends that batch, which is
//! harmless because InfluxDB keeps one point per series and timestamp.

pub mod buffer;
pub mod line;

use sitewarden_runtime::health::Spawner;
use sitewarden_runtime::metrics::site_series;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::readings::ReadingEvent;
use crate::report::ReportFilter;
use crate::rules::ConditionEvent;
use buffer::DiskBuffer;
use sitewarden_model::catalog::{Catalog, InfluxSettings};
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::shutdown::Shutdown;

/// Batches waiting for the writer before the encoder spills to disk instead.
const WRITER_QUEUE: usize = 8;
/// Longest a write may take while the daemon stops; then the batch goes to disk.
const SHUTDOWN_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Counters of the sink, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct SinkMetrics {
    /// Lines produced.
    pub encoded: AtomicU64,
    /// Lines the database accepted (replayed ones included).
    pub written: AtomicU64,
    /// Lines accepted from the disk buffer.
    pub replayed: AtomicU64,
    /// Lines the database refused as invalid (never retried).
    pub rejected: AtomicU64,
    /// Lines dropped because the disk budget was exhausted.
    pub dropped: AtomicU64,
    /// Failed write attempts.
    pub write_errors: AtomicU64,
    /// Lines waiting on disk.
    pub buffered_lines: AtomicU64,
    /// Bytes used on disk.
    pub buffered_bytes: AtomicU64,
}

impl SinkMetrics {
    /// Writes the sink's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        site_series(
            out,
            site,
            &[
                (
                    "sitewarden_influx_lines_total",
                    "counter",
                    "Lines of line protocol produced.",
                    &self.encoded,
                ),
                (
                    "sitewarden_influx_lines_written_total",
                    "counter",
                    "Lines InfluxDB accepted.",
                    &self.written,
                ),
                (
                    "sitewarden_influx_lines_replayed_total",
                    "counter",
                    "Lines accepted from the disk buffer.",
                    &self.replayed,
                ),
                (
                    "sitewarden_influx_lines_rejected_total",
                    "counter",
                    "Lines InfluxDB refused as invalid.",
                    &self.rejected,
                ),
                (
                    "sitewarden_influx_lines_dropped_total",
                    "counter",
                    "Lines dropped because the disk buffer budget was exhausted.",
                    &self.dropped,
                ),
                (
                    "sitewarden_influx_write_errors_total",
                    "counter",
                    "Failed write attempts.",
                    &self.write_errors,
                ),
                (
                    "sitewarden_influx_buffered_lines",
                    "gauge",
                    "Lines waiting in the disk buffer.",
                    &self.buffered_lines,
                ),
                (
                    "sitewarden_influx_buffered_bytes",
                    "gauge",
                    "Bytes the disk buffer uses.",
                    &self.buffered_bytes,
                ),
            ],
        );
    }
}

/// A batch of line protocol.
#[derive(Debug)]
struct Batch {
    body: String,
    lines: u64,
}

/// One pre-encoded body, handed to `influxdb2` as a single "data point" so
/// the client streams (and gzips) it as it is.
struct Body(Arc<[u8]>);

impl influxdb2::models::WriteDataPoint for Body {
    fn write_data_point_to<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        w.write_all(&self.0)
    }
}

/// Why a write did not land.
enum WriteError {
    /// The server will never take this batch (invalid data).
    Rejected(String),
    /// Try again later.
    Failed(String),
}

/// What the sink is built from.
pub struct SinkInputs {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// `[sinks.influx]`, checked.
    pub settings: InfluxSettings,
    /// The daemon's data directory; the buffer lives in `influx-buffer/` below it.
    pub data_dir: std::path::PathBuf,
    /// Reading bus subscription.
    pub readings: mpsc::Receiver<ReadingEvent>,
    /// Condition bus subscription.
    pub conditions: mpsc::Receiver<ConditionEvent>,
    /// Tickets, alerts and patrol records.
    pub records: mpsc::Receiver<sitewarden_model::record::Record>,
    /// Counters.
    pub metrics: Arc<SinkMetrics>,
    /// Stop signal: the writer stops trying the network and spills to disk.
    pub shutdown: Shutdown,
}

/// Starts the encoder and writer tasks.
pub fn spawn(inputs: SinkInputs, tasks: &mut Spawner<'_>) -> anyhow::Result<()> {
    let SinkInputs {
        catalog,
        settings,
        data_dir,
        readings,
        conditions,
        records,
        metrics,
        shutdown,
    } = inputs;
    let buffer = Arc::new(DiskBuffer::open(
        &data_dir.join("influx-buffer"),
        settings.buffer_bytes,
    )?);
    if !buffer.is_empty() {
        info!(
            lines = buffer.lines(),
            "InfluxDB buffer holds unsent lines from before; replaying them"
        );
    }
    metrics.buffered_lines.store(buffer.lines(), Relaxed);
    metrics.buffered_bytes.store(buffer.bytes(), Relaxed);
    let mut builder = influxdb2::ClientBuilder::new(
        settings.url.clone(),
        settings.org.clone(),
        settings
            .token
            .as_ref()
            .map_or("", |t| t.expose())
            .to_owned(),
    );
    if settings.gzip {
        builder = builder.gzip(true);
    }
    let client = builder
        .build()
        .map_err(|e| anyhow::anyhow!("InfluxDB client: {e}"))?;
    let (tx, rx) = mpsc::channel(WRITER_QUEUE);
    let writer = Writer {
        client,
        settings: settings.clone(),
        buffer: buffer.clone(),
        metrics: metrics.clone(),
        shutdown,
        log: LogLimiter::new(Duration::from_secs(30)),
    };
    tasks.watch("influx-writer", writer.run(rx));
    let encoder = Encoder {
        prefixes: line::reading_prefixes(&catalog),
        filter: ReportFilter::new(
            &catalog,
            settings.report_deadband,
            settings.report_min_interval,
        ),
        catalog,
        settings,
        batch: String::new(),
        lines: 0,
        tx,
        buffer,
        metrics,
    };
    tasks.watch("influx-encoder", encoder.run(readings, conditions, records));
    Ok(())
}

struct Encoder {
    catalog: Arc<Catalog>,
    settings: InfluxSettings,
    prefixes: Vec<String>,
    filter: ReportFilter,
    batch: String,
    lines: u64,
    tx: mpsc::Sender<Batch>,
    buffer: Arc<DiskBuffer>,
    metrics: Arc<SinkMetrics>,
}

impl Encoder {
    async fn run(
        mut self,
        mut readings: mpsc::Receiver<ReadingEvent>,
        mut conditions: mpsc::Receiver<ConditionEvent>,
        mut records: mpsc::Receiver<sitewarden_model::record::Record>,
    ) {
        let mut flush = tokio::time::interval(self.settings.flush_interval);
        let (mut readings_open, mut conditions_open, mut records_open) = (true, true, true);
        while readings_open || conditions_open {
            tokio::select! {
                event = readings.recv(), if readings_open => match event {
                    Some(event) => self.encode_reading_event(&event),
                    None => readings_open = false,
                },
                event = conditions.recv(), if conditions_open => match event {
                    Some(event) => self.encode_condition(&event),
                    None => conditions_open = false,
                },
                record = records.recv(), if records_open => match record {
                    Some(record) => {
                        line::push_record(&mut self.batch, &record);
                        self.lines += 1;
                    }
                    None => records_open = false,
                },
                _ = flush.tick() => self.flush(),
            }
            if self.lines as usize >= self.settings.batch_size {
                self.flush();
            }
        }
        // The work stages hold their senders until the very end; take what they committed.
        while let Ok(record) = records.try_recv() {
            line::push_record(&mut self.batch, &record);
            self.lines += 1;
        }
        self.flush();
    }

    fn encode_reading_event(&mut self, event: &ReadingEvent) {
        match event {
            ReadingEvent::Batch(batch) => {
                for r in &batch.readings {
                    if self.filter.admit(r) {
                        line::push_reading(&mut self.batch, &self.prefixes[r.point.0 as usize], r);
                        self.lines += 1;
                    }
                }
            }
            ReadingEvent::DeviceState {
                device, state, at, ..
            } => {
                line::push_device_state(&mut self.batch, &self.catalog, *device, *state, *at);
                self.lines += 1;
            }
        }
    }

    fn encode_condition(&mut self, event: &ConditionEvent) {
        line::push_condition(&mut self.batch, &self.catalog, event);
        self.lines += 1;
    }

    /// Hands the batch to the writer, or to disk if the writer is behind.
    fn flush(&mut self) {
        if self.lines == 0 {
            return;
        }
        self.metrics.encoded.fetch_add(self.lines, Relaxed);
        let batch = Batch {
            body: std::mem::replace(
                &mut self.batch,
                String::with_capacity(self.settings.batch_size * 96),
            ),
            lines: std::mem::take(&mut self.lines),
        };
        if let Err(
            mpsc::error::TrySendError::Full(batch) | mpsc::error::TrySendError::Closed(batch),
        ) = self.tx.try_send(batch)
        {
            spill(&self.buffer, &self.metrics, &batch);
        }
    }
}

/// Puts a batch on disk and keeps the counters true.
fn spill(buffer: &DiskBuffer, metrics: &SinkMetrics, batch: &Batch) {
    match buffer.push(batch.body.as_bytes(), batch.lines) {
        Ok(pushed) if pushed.dropped_lines > 0 => {
            metrics.dropped.fetch_add(pushed.dropped_lines, Relaxed);
            warn!(
                dropped_lines = pushed.dropped_lines,
                "InfluxDB buffer is full; the oldest unsent lines were dropped"
            );
        }
        Ok(_) => {}
        Err(e) => {
            metrics.dropped.fetch_add(batch.lines, Relaxed);
            warn!(error = %e, lines = batch.lines, "cannot write the InfluxDB buffer; these lines are lost");
        }
    }
    metrics.buffered_lines.store(buffer.lines(), Relaxed);
    metrics.buffered_bytes.store(buffer.bytes(), Relaxed);
}

struct Writer {
    client: influxdb2::Client,
    settings: InfluxSettings,
    buffer: Arc<DiskBuffer>,
    metrics: Arc<SinkMetrics>,
    shutdown: Shutdown,
    log: LogLimiter,
}

impl Writer {
    async fn run(mut self, mut batches: mpsc::Receiver<Batch>) {
        let mut up = true;
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut retry_at = Instant::now();
        loop {
            let backlog = !self.buffer.is_empty() && !self.shutdown.is_triggered();
            tokio::select! {
                batch = batches.recv() => match batch {
                    None => return,
                    // Stopping: one quick try, then disk; never hold up the exit.
                    Some(batch) if up && self.shutdown.is_triggered() => {
                        let body: Arc<[u8]> = batch.body.into_bytes().into();
                        let quick = self.settings.timeout.min(SHUTDOWN_WRITE_TIMEOUT);
                        if let Err(body) = self.send_within(body, batch.lines, quick).await {
                            if let Some(body) = body {
                                spill(&self.buffer, &self.metrics, &Batch { body, lines: batch.lines });
                            }
                            up = false;
                        }
                    }
                    Some(batch) if up => {
                        if let Err(reason) = self.send(batch.body.into_bytes().into(), batch.lines).await {
                            if let Some(body) = reason {
                                spill(&self.buffer, &self.metrics, &Batch { body, lines: batch.lines });
                            }
                            up = false;
                            retry_at = Instant::now() + backoff.next_delay();
                        }
                    }
                    Some(batch) => spill(&self.buffer, &self.metrics, &batch),
                },
                () = tokio::time::sleep_until(retry_at), if backlog => {
                    if self.replay_one().await {
                        if !up {
                            info!(waiting_lines = self.buffer.lines(), "InfluxDB reachable again; replaying the buffer");
                        }
                        up = true;
                        backoff.reset();
                        retry_at = Instant::now();
                    } else {
                        up = false;
                        retry_at = Instant::now() + backoff.next_delay();
                    }
                }
            }
        }
    }

    /// Sends the oldest buffered batch; true when it is off the disk.
    async fn replay_one(&mut self) -> bool {
        let Some(segment) = self.buffer.oldest() else {
            return true;
        };
        let body = match self.buffer.read(&segment) {
            Ok(body) => body,
            Err(e) => {
                warn!(error = %e, lines = segment.lines, "unreadable InfluxDB buffer file; dropping it");
                self.metrics.dropped.fetch_add(segment.lines, Relaxed);
                self.buffer.remove(&segment);
                return true;
            }
        };
        let ok = match self.send(body.into(), segment.lines).await {
            Ok(()) => {
                self.metrics.replayed.fetch_add(segment.lines, Relaxed);
                true
            }
            // Refused as invalid: retrying cannot help; counted as rejected.
            Err(None) => true,
            Err(Some(_)) => false,
        };
        if ok {
            self.buffer.remove(&segment);
            self.metrics
                .buffered_lines
                .store(self.buffer.lines(), Relaxed);
            self.metrics
                .buffered_bytes
                .store(self.buffer.bytes(), Relaxed);
        }
        ok
    }

    /// Writes one body. `Err(Some(body))`: failed, keep it; `Err(None)`: rejected for good.
    async fn send(&mut self, body: Arc<[u8]>, lines: u64) -> Result<(), Option<String>> {
        self.send_within(body, lines, self.settings.timeout).await
    }

    async fn send_within(
        &mut self,
        body: Arc<[u8]>,
        lines: u64,
        timeout: Duration,
    ) -> Result<(), Option<String>> {
        match self.write(body.clone(), timeout).await {
            Ok(()) => {
                self.metrics.written.fetch_add(lines, Relaxed);
                Ok(())
            }
            Err(WriteError::Rejected(why)) => {
                self.metrics.rejected.fetch_add(lines, Relaxed);
                warn!(lines, error = %why, "InfluxDB refused a batch as invalid; it is not retried");
                Err(None)
            }
            Err(WriteError::Failed(why)) => {
                self.metrics.write_errors.fetch_add(1, Relaxed);
                if let Some(held_back) = self.log.allow() {
                    warn!(error = %why, held_back, waiting_lines = self.buffer.lines() + lines,
                          "InfluxDB write failed; buffering on disk and retrying");
                }
                Err(Some(String::from_utf8_lossy(&body).into_owned()))
            }
        }
    }

    async fn write(&self, body: Arc<[u8]>, timeout: Duration) -> Result<(), WriteError> {
        use influxdb2::api::write::TimestampPrecision;
        let stream = futures_util::stream::iter([Body(body)]);
        let call = self.client.write_with_precision(
            &self.settings.bucket,
            stream,
            TimestampPrecision::Nanoseconds,
        );
        match tokio::time::timeout(timeout, call).await {
            Err(_) => Err(WriteError::Failed(format!("no answer within {timeout:?}"))),
            Ok(Ok(())) => Ok(()),
            Ok(Err(influxdb2::RequestError::Http { status, text }))
                if status == 400 || status == 422 =>
            {
                Err(WriteError::Rejected(format!("{status}: {text}")))
            }
            Ok(Err(e)) => Err(WriteError::Failed(e.to_string())),
        }
    }
}
