//! Owned results: the response body, and the core's borrowed model on demand.

use std::fmt;
use std::marker::PhantomData;

use vpc_imds_core::error::BodyError;
use vpc_imds_core::model;
use vpc_imds_core::token::Secret;

/// A document type the service returns: ties a marker type to the core's borrowed
/// model and its parser.
pub trait Model {
    /// The borrowed view, e.g. [`model::Instance<'a>`].
    type View<'a>: Default;
    /// Parses a body.
    fn parse(body: &[u8]) -> Result<Self::View<'_>, BodyError>;
}

/// A response body that outlives the response buffer.
///
/// [`get`](Self::get) parses the body into the core's borrowed model each time it is
/// called (microseconds: the model borrows, nothing is copied); keep the view while
/// you need it. [`json`](Self::json) is the raw JSON.
///
/// `Debug` shows only the type and size, so a token document never leaks its token.
pub struct Document<M: Model> {
    body: Vec<u8>,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> Document<M> {
    /// Only built from a body the session already parsed as `M`.
    pub(crate) fn new(body: Vec<u8>) -> Self {
        Document {
            body,
            model: PhantomData,
        }
    }

    /// The typed view, borrowing this document.
    pub fn get(&self) -> M::View<'_> {
        // The session parsed these very bytes with the same parser before the document
        // was made, so this cannot fail; the default is never seen.
        M::parse(&self.body).unwrap_or_default()
    }

    /// The JSON body as received.
    pub fn json(&self) -> &[u8] {
        &self.body
    }

    /// The JSON body, owned.
    pub fn into_json(self) -> Vec<u8> {
        self.body
    }
}

impl<M: Model> Clone for Document<M> {
    fn clone(&self) -> Self {
        Document::new(self.body.clone())
    }
}

impl<M: Model> fmt::Debug for Document<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Document<{}>({} bytes)",
            std::any::type_name::<M>(),
            self.body.len()
        )
    }
}

/// Marker types naming the documents the service returns.
pub mod kind {
    use super::*;

    macro_rules! models {
        ($($(#[$doc:meta])* $name:ident => $view:ident;)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub enum $name {}

            impl Model for $name {
                type View<'a> = model::$view<'a>;
                fn parse(body: &[u8]) -> Result<Self::View<'_>, BodyError> {
                    model::$view::parse(body)
                }
            }
        )*};
    }

    include!("kinds.rs");

    /// Any JSON object (a generic `GET`); the view is the raw body.
    #[derive(Debug, Clone, Copy)]
    pub enum Json {}

    impl Model for Json {
        type View<'a> = &'a [u8];
        fn parse(body: &[u8]) -> Result<&[u8], BodyError> {
            Ok(body)
        }
    }
}

impl Document<kind::AccessToken> {
    /// The token itself. It stays redacted in `Debug`/`Display`; call
    /// [`Secret::expose`] only to send it or hand it to the user.
    pub fn token(&self) -> Secret<'_> {
        // The session refused token documents without a plain, non-empty access_token.
        self.get().access_token.expose().unwrap_or(Secret::new(""))
    }

    /// The token's lifetime in seconds, as the service stated it.
    pub fn expires_in(&self) -> Option<u32> {
        self.get().lifetime_secs()
    }
}
