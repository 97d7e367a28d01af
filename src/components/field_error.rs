//! A refusal shown under the form field it names (the API's `field`, or the core check's), and
//! the refusals that name no field of the form, shown once below it.

use leadcard_core::field::FieldError;
use leptos::prelude::*;

use crate::api::ApiError;

/// The core check's refusal, read like the server's 422 for the same field.
pub fn refused(e: FieldError) -> ApiError {
    ApiError {
        status: 422,
        code: "invalid".to_owned(),
        message: crate::browser::i18n::say(&e.message),
        field: Some(e.field),
    }
}

/// The message of `problem` when it names `field`.
pub fn under(problem: impl Into<Signal<Option<ApiError>>>, field: &'static str) -> impl IntoView {
    let problem = problem.into();
    move || {
        problem.get().filter(|e| e.field.as_deref() == Some(field)).map(|e| {
            view! { <p class="editor__error" role="alert" data-testid="field-error" data-field=field>{e.message}</p> }
        })
    }
}

/// The message of `problem` when it names none of the form's `fields`.
pub fn elsewhere(problem: impl Into<Signal<Option<ApiError>>>, fields: &'static [&'static str]) -> impl IntoView {
    let problem = problem.into();
    move || {
        problem.get().filter(|e| !e.field.as_deref().is_some_and(|f| fields.contains(&f))).map(|e| {
            view! { <p class="editor__error" role="alert" data-testid="form-error">{e.message}</p> }
        })
    }
}
