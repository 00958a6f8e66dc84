//! An operation's result as the host receives it: the core's typed output, its
//! JSON body, and one serialized form for every host language.

use alloc::boxed::Box;
use core::fmt;

use serde::ser::{Error as _, Serialize, Serializer};
use vpc_imds_core::output::Output;
use vpc_imds_core::session::Event;

use crate::json::JsonValue;

/// A page or a result. Borrows the driver (or the host's response body) until the
/// next step.
///
/// [`Serialize`] gives the document's JSON form (IBM's field names, decoded
/// strings): hosts convert it once with their serde adapter (pyo3, napi,
/// serde-wasm-bindgen) instead of hand-written tables. Typed outputs serialize as
/// their model struct (its Rust name tells which class to build); a generic GET
/// serializes as the JSON value it holds.
pub struct Reply<'a> {
    // The core's `Page` or `Done` event, boxed as it came: an output is up to
    // ~14 KB (an instance, a page of 50), and a step travels through a few frames
    // of every host; taken out of the event, it would be copied on the stack.
    event: Box<Event<'a>>,
    body: &'a [u8],
}

impl<'a> Reply<'a> {
    /// `event` is an `Event::Page` or `Event::Done`.
    pub(crate) fn new(event: Box<Event<'a>>, body: &'a [u8]) -> Self {
        Reply { event, body }
    }

    /// The JSON body as received (de-chunked).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The core's typed output (a reply is only ever made of a page or a result;
    /// no `'static` stand-in for the other events: an `Output` is ~14 KB).
    pub fn output(&self) -> Option<&Output<'a>> {
        match &*self.event {
            Event::Page(output) | Event::Done(output) => Some(output),
            _ => None,
        }
    }

    /// The output's type name (`instance`, `keys`, `raw`, ...), as test vectors name it.
    pub fn type_name(&self) -> &'static str {
        self.output().map_or("none", Output::type_name)
    }

    /// A token output's lifetime in seconds, as the service stated it.
    pub fn token_lifetime(&self) -> Option<u32> {
        match self.output()? {
            Output::IdentityToken(t) | Output::IamToken(t) => t.lifetime_secs(),
            _ => None,
        }
    }
}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The models' Debug redacts tokens.
        write!(f, "Reply({:?})", self.output())
    }
}

impl Serialize for Reply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.output() {
            Some(Output::Raw(body)) => JsonValue(body).serialize(s),
            Some(output) => TypedOutput(output).serialize(s),
            None => Err(S::Error::custom("a reply without an output")),
        }
    }
}

/// A typed output as its model's document (what [`Reply`] serializes), for hosts
/// that write a generic GET's body their own way: a raw body is refused here.
pub struct TypedOutput<'r, 'a>(pub &'r Output<'a>);

impl Serialize for TypedOutput<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Output::IdentityToken(x) | Output::IamToken(x) => x.serialize(s),
            Output::Instance(x) => x.serialize(s),
            Output::Initialization(x) => x.serialize(s),
            Output::NetworkInterfaces(x) => x.serialize(s),
            Output::NetworkInterface(x) => x.serialize(s),
            Output::VolumeAttachments(x) => x.serialize(s),
            Output::VolumeAttachment(x) => x.serialize(s),
            Output::Keys(x) => x.serialize(s),
            Output::Key(x) => x.serialize(s),
            Output::PlacementGroups(x) => x.serialize(s),
            Output::PlacementGroup(x) => x.serialize(s),
            Output::IdentityCertificate(x) => x.serialize(s),
            Output::Raw(_) => Err(S::Error::custom("a raw body is not a typed output")),
            _ => Err(S::Error::custom("an output this driver does not know")),
        }
    }
}
