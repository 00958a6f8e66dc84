//! The client machine for hosts that cross by text (napi, wasm-bindgen): each step
//! comes out as the JSON text of its [`StepRecord`], its payload (a request's bytes,
//! user data, a document's text) kept for the host to take once.

use alloc::string::String;
use alloc::vec::Vec;

use crate::by_name::NamedArgs;
use crate::machine::{Input, LocalMachine, OpId};
use crate::record::ErrorRecord;
use crate::settings::Settings;
use crate::step_record::StepRecord;
use vpc_imds_core::config::{Endpoint, Scheme};
use vpc_imds_core::error::Error;
use vpc_imds_core::time::Instant;

/// A [`LocalMachine`] whose steps are JSON records. Operation ids and times are
/// JavaScript numbers (`f64`; times in milliseconds on the host's clock).
///
/// ```
/// use vpc_imds_driver::{MachineInput, NamedArgs, RecordMachine, Settings};
///
/// let settings = Settings { endpoint: Some("http://127.0.0.1:8080".into()), ..Settings::default() };
/// let mut m = RecordMachine::new(settings, &[7; 8], false).unwrap();
/// let op = m.start("instance", 0.0, &NamedArgs::default()).unwrap();
/// // First the identity token: a send step, its bytes kept for the host.
/// let step = m.step(op, 0.0, MachineInput::Tick);
/// assert!(step.starts_with(r#"{"kind":0,"conn":1,"fresh":true"#), "{step}");
/// assert!(m.take_bytes().starts_with(b"PUT /identity/v1/token"));
/// assert!(m.take_bytes().is_empty()); // once
/// ```
pub struct RecordMachine {
    machine: LocalMachine,
    /// Steps carry a request's parts too (for a host with its own HTTP stack).
    parts: bool,
    /// The last step's payload, until taken.
    payload: Vec<u8>,
}

/// An error as the driver's one record, JSON text (`kind`, `message`, `cause`,
/// `status`, `retry_after`, `code`, `api_message`, `target`, `trace`, `transport`).
pub fn error_text(e: &Error) -> String {
    record_text(&ErrorRecord::from(e))
}

/// An error record as JSON text: [`error_text`]'s form, for a record made otherwise
/// (user data that cannot be read: `ErrorRecord::from(&UserDataError)`).
pub fn record_text(record: &ErrorRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// A host's operation id (a JavaScript number) as the machine's: anything that is
/// not an id the machine could have handed out (a fraction, negative, NaN, past
/// 2^53) names no operation, rather than a neighbour (`1.5 as u64` is 1).
fn op_id(op: f64) -> OpId {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    // In range (NaN is not), the cast is exact only for a whole number.
    let whole = op as u64;
    if (0.0..=MAX_SAFE).contains(&op) && whole as f64 == op {
        OpId(whole)
    } else {
        OpId(u64::MAX)
    }
}

/// Milliseconds on the host's clock (a JavaScript number) as an instant; anything
/// not a positive finite number is 0.
pub fn instant(ms: f64) -> Instant {
    Instant::from_millis(if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    })
}

impl RecordMachine {
    /// The machine of `settings` (their errors are the record to throw), `seed`'s
    /// first 8 bytes (little-endian; fewer are zero-padded) feeding retry jitter.
    pub fn new(settings: Settings, seed: &[u8], parts: bool) -> Result<Self, String> {
        let config = settings.build().map_err(|e| error_text(&e.into()))?;
        let mut bytes = [0u8; 8];
        bytes.iter_mut().zip(seed).for_each(|(b, s)| *b = *s);
        let mut machine = LocalMachine::new(config, u64::from_le_bytes(bytes));
        machine.write_json_on_arrival(true);
        Ok(RecordMachine {
            machine,
            parts,
            payload: Vec::new(),
        })
    }

    /// The machine, for its settings and counts.
    pub fn machine(&self) -> &LocalMachine {
        &self.machine
    }

    /// The endpoint (URL, host, port), for a socket transport.
    pub fn endpoint(&self) -> &Endpoint {
        self.machine.config().endpoint()
    }

    /// Whether the endpoint is `https`.
    pub fn secure(&self) -> bool {
        self.endpoint().scheme() == Scheme::Https
    }

    /// Starts operation `op` with `args` at `now`: its id, or the error record (JSON
    /// text) when the input is refused (nothing is sent then).
    pub fn start(&mut self, op: &str, now: f64, args: &NamedArgs) -> Result<f64, String> {
        self.machine
            .start_named(op, args, instant(now))
            .map(|id| id.0 as f64)
            .map_err(|e| error_text(&e))
    }

    /// The step `input` leads `op` to at `now`, as the JSON text of its record (the
    /// operations it woke included); its payload waits for [`take_bytes`](Self::take_bytes)
    /// or [`take_text`](Self::take_text).
    pub fn step(&mut self, op: f64, now: f64, input: Input<'_>) -> String {
        let step = self.machine.step(op_id(op), instant(now), input);
        let woken = core::iter::from_fn(|| self.machine.poll_woken().map(|o| o.0)).collect();
        StepRecord::new(&step, woken, self.parts, &mut self.payload).to_json()
    }

    /// Abandons `op`: the connection to close, if it had a request in flight.
    pub fn cancel(&mut self, op: f64) -> Option<f64> {
        self.machine.cancel(op_id(op)).map(|c| c.0 as f64)
    }

    /// The connections to close for a client's `close` (see
    /// [`Machine::close_idle`](crate::Machine::close_idle)).
    pub fn close_idle(&mut self) -> Vec<f64> {
        self.machine
            .close_idle()
            .into_iter()
            .map(|c| c.0 as f64)
            .collect()
    }

    /// Operations whose token wait ended (after a `cancel`): step them now.
    pub fn woken(&mut self) -> Vec<f64> {
        core::iter::from_fn(|| self.machine.poll_woken().map(|o| o.0 as f64)).collect()
    }

    /// The bytes the last step announced, once (a request's HTTP/1.1 bytes hold the
    /// token: never log them).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.payload)
    }

    /// The text the last step announced, once (checked UTF-8 when it was announced).
    pub fn take_text(&mut self) -> String {
        String::from_utf8(core::mem::take(&mut self.payload)).unwrap_or_default()
    }
}
