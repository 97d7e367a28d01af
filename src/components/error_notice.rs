//! How a failed request reads on the page; a lost session goes back to the sign-in page.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::ApiError;
use crate::paths;

/// The server's message, for the operator.
#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! {
        <div class="notice notice--error" role="alert">
            {error.message}
        </div>
    }
}

/// Goes to the sign-in page, which comes back here afterwards.
#[component]
pub fn SignInAgain() -> impl IntoView {
    let location = use_location();
    let here = paths::current(&location.pathname.get_untracked(), &location.search.get_untracked());
    view! { <Redirect path=paths::login(&here) options=NavigateOptions { replace: true, ..Default::default() }/> }
}

/// The fallback of an `<ErrorBoundary>` around API data.
pub fn api_error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    move || {
        let error = errors.with(|errors| {
            errors.iter().next().map(|(_, e)| {
                e.downcast_ref::<ApiError>().cloned().unwrap_or_else(|| ApiError {
                    status: 0,
                    code: "error".to_owned(),
                    message: e.to_string(),
                    field: None,
                })
            })
        });
        error.map(|error| {
            if error.is_unauthenticated() {
                view! { <SignInAgain/> }.into_any()
            } else {
                view! { <ErrorNotice error/> }.into_any()
            }
        })
    }
}
