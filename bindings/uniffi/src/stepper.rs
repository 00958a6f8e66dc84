//! [`Machine`]: the driver's client machine itself, stepped by the host, for
//! hosts that run their own loop (a non-blocking socket, an event loop) and for the
//! shared test vectors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vpc_imds_driver::{Instant, MachineInput, MachineStep as Step, OpId, SyncMachine, Value};

use crate::{
    lock, Document, HttpRequest, HttpResponse, ImdsError, ImdsSettings, InputText, TransportError,
};

/// One argument's value, as the driver takes it by name (`NamedArgs::set`): the
/// driver checks and converts it, the same way in every binding.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum ArgValue {
    /// The argument's default.
    Null,
    /// A boolean (`all_pages`).
    Bool {
        /// The value.
        value: bool,
    },
    /// A whole number (`expires_in`).
    Int {
        /// The value.
        value: i64,
    },
    /// A number, e.g. seconds (`max`).
    Float {
        /// The value.
        value: f64,
    },
    /// Text (`id`, `path`, `nonce`, ...).
    Text {
        /// The value.
        value: InputText,
    },
}

impl ArgValue {
    fn value(&self) -> Value<'_> {
        match self {
            ArgValue::Null => Value::Null,
            ArgValue::Bool { value } => Value::Bool(*value),
            ArgValue::Int { value } => Value::Int(*value),
            ArgValue::Float { value } => Value::Float(*value),
            ArgValue::Text { value } => Value::Text(value),
        }
    }
}

/// What the host feeds a step of one operation.
#[derive(uniffi::Enum)]
pub enum StepInput {
    /// Nothing new: a wait ended, or the host wants the next step.
    Tick,
    /// Bytes read from the operation's connection (empty: the peer closed it).
    Bytes {
        /// HTTP/1.1 as read.
        bytes: crate::Bytes,
    },
    /// A whole response from the host's own HTTP stack.
    Response {
        /// The response.
        response: HttpResponse,
    },
    /// The request failed before a whole response arrived.
    Failed {
        /// How.
        error: TransportError,
    },
}

/// What the host does next for one operation (the machine's step, owned).
#[derive(uniffi::Enum)]
pub enum MachineStep {
    /// Send this request (`fresh`: on a new connection `conn`, else on that idle
    /// one), then feed what came of it.
    Send {
        /// The connection to write it on (hosts with their own HTTP stack ignore it).
        conn: u64,
        /// Whether to connect `conn` first.
        fresh: bool,
        /// The request (`toString()` redacts the token).
        request: HttpRequest,
        /// The request as HTTP/1.1 bytes (they hold the token).
        wire: Vec<u8>,
    },
    /// The answer is not complete: read more bytes and feed them.
    Read,
    /// Close this connection, then tick.
    Close {
        /// The connection.
        conn: u64,
    },
    /// Sleep until then (milliseconds on the host's clock), then tick.
    Backoff {
        /// When to wake.
        until_ms: u64,
    },
    /// Another operation is fetching the token this one needs: tick once
    /// `poll_woken` names this operation, or at `until_ms`.
    AwaitToken {
        /// The latest time to wake.
        until_ms: u64,
    },
    /// One page of a list; tick for the next.
    Page {
        /// The page.
        document: Document,
    },
    /// The result; the operation is over.
    Done {
        /// The result.
        document: Document,
    },
    /// The failure; the operation is over.
    Failed {
        /// Why.
        error: ImdsError,
    },
}

/// The client machine, stepped by the host with its own clock (milliseconds from
/// one origin) and its own I/O: any number of operations, one token for all.
#[derive(uniffi::Object)]
pub struct Machine {
    machine: Mutex<SyncMachine>,
}

#[uniffi::export]
impl Machine {
    /// A machine with no operation; `seed` feeds retry jitter.
    #[uniffi::constructor]
    pub fn new(settings: ImdsSettings, seed: u64) -> Result<Arc<Self>, ImdsError> {
        let mut machine = SyncMachine::new(settings.build()?, seed);
        machine.write_json_on_arrival(true); // documents cross as JSON text
        let machine = Mutex::new(machine);
        Ok(Arc::new(Machine { machine }))
    }

    /// Starts operation `name` (`identity_token`, `iam_token`, `instance`, ...,
    /// `get`, `get_all`, `user_data`, `ssh_keys`, `wait_until_ready`) with its
    /// arguments by name (`api/vpc-imds.json`: `id`, `path`, `expires_in`,
    /// `nonce`, ...) at `now_ms` and returns its id; its input is checked here,
    /// nothing is sent yet.
    pub fn start(
        &self,
        name: InputText,
        args: HashMap<String, ArgValue>,
        now_ms: u64,
    ) -> Result<u64, ImdsError> {
        let pairs: Vec<_> = args.iter().map(|(k, v)| (k.as_str(), v.value())).collect();
        let named = crate::client::named(&pairs)?;
        let now = Instant::from_millis(now_ms);
        Ok(lock(&self.machine).start_named(&name, &named, now)?.0)
    }

    /// Advances operation `op` with `input` at `now_ms`.
    pub fn step(&self, op: u64, now_ms: u64, input: StepInput) -> MachineStep {
        let input = match &input {
            StepInput::Tick => MachineInput::Tick,
            StepInput::Bytes { bytes } => MachineInput::Bytes(bytes),
            StepInput::Response { response } => response.input(),
            StepInput::Failed { error } => MachineInput::Failed(error.kind()),
        };
        let document = |r: vpc_imds_driver::Record| Document::new(&r);
        let mut machine = lock(&self.machine);
        let max_bytes = machine.config().max_response_bytes();
        match machine.step(OpId(op), Instant::from_millis(now_ms), input) {
            Step::Send(t) => MachineStep::Send {
                conn: t.conn.0,
                fresh: t.fresh,
                request: HttpRequest::from_owned(&t.request, max_bytes),
                wire: t.request.wire().to_vec(),
            },
            Step::Read => MachineStep::Read,
            Step::Close(conn) => MachineStep::Close { conn: conn.0 },
            Step::Backoff(until) => MachineStep::Backoff {
                until_ms: until.as_millis(),
            },
            Step::AwaitToken(until) => MachineStep::AwaitToken {
                until_ms: until.as_millis(),
            },
            Step::Page(r) => document(r).map_or_else(
                |error| MachineStep::Failed { error },
                |document| MachineStep::Page { document },
            ),
            Step::Done(r) => document(r).map_or_else(
                |error| MachineStep::Failed { error },
                |document| MachineStep::Done { document },
            ),
            Step::Failed(e) => MachineStep::Failed { error: e.into() },
        }
    }

    /// The next operation whose token wait ended: tick it now.
    pub fn poll_woken(&self) -> Option<u64> {
        lock(&self.machine).poll_woken().map(|op| op.0)
    }

    /// Operations in progress.
    pub fn operations(&self) -> u64 {
        lock(&self.machine).operations() as u64
    }

    /// Abandons `op`; returns the connection to close, if it had a request in flight.
    pub fn cancel(&self, op: u64) -> Option<u64> {
        lock(&self.machine).cancel(OpId(op)).map(|c| c.0)
    }
}
