//! [`StepDriver`]: the driver's step function itself, for hosts that run their own
//! loop (a non-blocking socket, an event loop) and for the shared test vectors.

use std::sync::{Arc, Mutex, MutexGuard};

use vpc_imds_driver::core::response::Response;
use vpc_imds_driver::{Args, Driver, Input, Instant, Operation, RequestId, Step, ThreadTokens};

use crate::{
    Document, HttpRequest, HttpResponse, ImdsError, ImdsSettings, InputText, TransportError,
};

/// An operation's arguments for [`StepDriver::start`] (those the operation does
/// not take are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct OperationArgs {
    /// The resource id (`network_interface`, `volume_attachment`, `key`, `placement_group`).
    #[uniffi(default)]
    pub id: Option<InputText>,
    /// Token or certificate lifetime in seconds.
    #[uniffi(default)]
    pub expires_in: Option<u32>,
    /// Trusted profile id (`iam_token`).
    #[uniffi(default)]
    pub profile_id: Option<InputText>,
    /// Trusted profile CRN (`iam_token`).
    #[uniffi(default)]
    pub profile_crn: Option<InputText>,
    /// Trusted profile name (`iam_token`).
    #[uniffi(default)]
    pub profile_name: Option<InputText>,
    /// PEM certificate signing request (`identity_certificate`).
    #[uniffi(default)]
    pub csr: Option<InputText>,
    /// Path under `/metadata/v1/` (`get`).
    #[uniffi(default)]
    pub path: Option<InputText>,
    /// Follow `next.href` (`get`).
    #[uniffi(default = false)]
    pub all_pages: bool,
}

/// What the host does next (the driver's `Step`, owned).
#[derive(Debug, uniffi::Enum)]
pub enum DriverStep {
    /// Send this request, then feed back what came of it with its id.
    Send {
        /// The request (`toString()` redacts the token).
        request: HttpRequest,
    },
    /// The response is not complete: read more bytes and feed them.
    Read,
    /// Sleep until then (milliseconds on the host's clock), then `tick`.
    Wait {
        /// When to wake.
        until_ms: u64,
    },
    /// Another operation is fetching the shared token: wait until it changes or
    /// `until_ms`, then `tick`.
    WaitForToken {
        /// The latest time to wake.
        until_ms: u64,
        /// The share's change count when this was decided.
        generation: u64,
        /// Whether the share is the IAM token cache.
        iam: bool,
    },
    /// One page of a list; `tick` for the next.
    Page {
        /// The page.
        document: Document,
    },
    /// The result; the driver is idle again.
    Done {
        /// The result.
        document: Document,
    },
    /// The operation failed; the driver is idle again.
    Failed {
        /// Why.
        error: ImdsError,
    },
    /// The input answered a request no longer awaited; it was ignored.
    Stale,
    /// No operation is running.
    Idle,
}

fn owned(step: Step<'_>) -> DriverStep {
    match step {
        Step::Send(r) => DriverStep::Send {
            request: HttpRequest::from_owned(r),
        },
        Step::Read => DriverStep::Read,
        Step::Wait(until) => DriverStep::Wait {
            until_ms: until.as_millis(),
        },
        Step::WaitForToken {
            until,
            generation,
            iam,
        } => DriverStep::WaitForToken {
            until_ms: until.as_millis(),
            generation,
            iam,
        },
        Step::Page(r) => match Document::from_reply(&r) {
            Ok(document) => DriverStep::Page { document },
            Err(error) => DriverStep::Failed { error },
        },
        Step::Done(r) => match Document::from_reply(&r) {
            Ok(document) => DriverStep::Done { document },
            Err(error) => DriverStep::Failed { error },
        },
        Step::Failed(e) => DriverStep::Failed { error: e.into() },
        Step::Stale => DriverStep::Stale,
        Step::Idle => DriverStep::Idle,
    }
}

/// One driver: one operation at a time, stepped by the host with its own clock
/// (milliseconds from one origin) and its own I/O. Drivers made by one
/// [`StepDriver::sibling`] chain share one identity token.
#[derive(uniffi::Object)]
pub struct StepDriver {
    driver: Mutex<Driver<Arc<ThreadTokens>>>,
}

impl StepDriver {
    fn lock(&self) -> MutexGuard<'_, Driver<Arc<ThreadTokens>>> {
        self.driver.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[uniffi::export]
impl StepDriver {
    /// An idle driver with its own token share; `seed` feeds retry jitter.
    #[uniffi::constructor]
    pub fn new(settings: ImdsSettings, seed: u64) -> Result<Arc<Self>, ImdsError> {
        let config = settings.build()?;
        Ok(Arc::new(StepDriver {
            driver: Mutex::new(Driver::new(config, Arc::new(ThreadTokens::new()), seed)),
        }))
    }

    /// Another idle driver with the same settings sharing this one's token.
    pub fn sibling(&self, seed: u64) -> Arc<StepDriver> {
        let d = self.lock();
        Arc::new(StepDriver {
            driver: Mutex::new(Driver::new(d.config().clone(), d.share().clone(), seed)),
        })
    }

    /// Starts operation `name` (`identity_token`, `iam_token`, `instance`, ...,
    /// `get`) at `now_ms`; its input is checked here, nothing is sent yet.
    pub fn start(
        &self,
        name: InputText,
        args: OperationArgs,
        now_ms: u64,
    ) -> Result<(), ImdsError> {
        let a = Args {
            id: args.id.as_deref(),
            expires_in: args.expires_in,
            profile_id: args.profile_id.as_deref(),
            profile_crn: args.profile_crn.as_deref(),
            profile_name: args.profile_name.as_deref(),
            csr: args.csr.as_deref(),
            path: args.path.as_deref(),
            all_pages: args.all_pages,
        };
        let op = Operation::from_name(&name, &a)?;
        Ok(self.lock().start(op, Instant::from_millis(now_ms))?)
    }

    /// The next step at `now_ms`, nothing new to report.
    pub fn tick(&self, now_ms: u64) -> DriverStep {
        owned(self.lock().step(Instant::from_millis(now_ms), Input::Tick))
    }

    /// Bytes received for request `id` (HTTP/1.1 as read; empty: the peer closed).
    pub fn feed(&self, now_ms: u64, id: u64, bytes: Vec<u8>) -> DriverStep {
        let input = Input::Bytes(RequestId(id), &bytes);
        owned(self.lock().step(Instant::from_millis(now_ms), input))
    }

    /// A whole response to request `id` from the host's own HTTP stack.
    pub fn respond(&self, now_ms: u64, id: u64, response: HttpResponse) -> DriverStep {
        let parts =
            Response::from_parts(response.status, response.retry_after_secs(), &response.body);
        let input = Input::Response(RequestId(id), parts);
        owned(self.lock().step(Instant::from_millis(now_ms), input))
    }

    /// Request `id` failed before a whole response arrived.
    pub fn fail(&self, now_ms: u64, id: u64, error: TransportError) -> DriverStep {
        let input = Input::TransportError(RequestId(id), error.kind());
        owned(self.lock().step(Instant::from_millis(now_ms), input))
    }

    /// The request whose answer is awaited, if any.
    pub fn awaiting(&self) -> Option<u64> {
        self.lock().awaiting().map(|id| id.0)
    }

    /// The request in flight as HTTP/1.1 bytes (they hold the token), for hosts
    /// that write to a socket themselves.
    pub fn wire(&self) -> Option<Vec<u8>> {
        self.lock().in_flight().map(|r| r.wire().to_vec())
    }

    /// Whether the connection of the last response fed as bytes may be reused.
    pub fn keep_alive(&self) -> bool {
        self.lock().keep_alive()
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.lock().is_busy()
    }

    /// Abandons the running operation, if any.
    pub fn cancel(&self) {
        self.lock().cancel();
    }
}
