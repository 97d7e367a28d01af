//! The signed-in operator: loaded once when the app starts, shared by every page.

use leadcard_core::wire::Operator;
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::i18n;

/// Who is signed in, as the server last said. Sign-in and sign-out update it without a reload.
#[derive(Clone, Copy)]
pub struct Session {
    pub me: LocalResource<Result<Operator, ApiError>>,
}

impl Session {
    /// Loads `GET /me` and makes the session available to every component below.
    pub fn provide() -> Self {
        let session = Self {
            me: LocalResource::new(|| async {
                let me = api::me().await;
                if let Ok(operator) = &me
                    && i18n::follow_operator(operator.language.as_deref())
                {
                    i18n::reload();
                }
                me
            }),
        };
        provide_context(session);
        session
    }

    pub fn expect() -> Self {
        expect_context()
    }

    pub fn signed_in(&self, operator: Operator) {
        self.me.set(Some(Ok(operator)));
    }

    pub fn signed_out(&self) {
        self.me.set(Some(Err(ApiError::signed_out())));
    }
}
