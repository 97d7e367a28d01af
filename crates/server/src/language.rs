//! The language of the reader the server is writing for: the request's (`Accept-Language`, set by
//! `layers.rs` for every request; the console sends its page's), or, in a job, that of the operator
//! who started it. Outside both, English. Everything that puts a core `Message` into words for a
//! reader — the API's errors, names and reasons read from the store, a job's texts — goes through
//! [`said`], so the choice is made in one place.

use std::future::Future;

use leadcard_core::locale::{Language, Message};

tokio::task_local! {
    static LANGUAGE: Language;
}

/// The language this task writes in.
pub fn current() -> Language {
    LANGUAGE.try_with(|l| *l).unwrap_or_default()
}

/// Runs `work` writing in `language` (a request; a job spawned by one keeps it).
pub async fn scoped<F: Future>(language: Language, work: F) -> F::Output {
    LANGUAGE.scope(language, work).await
}

/// `message` in the language this task writes in.
pub fn said(message: &Message) -> String {
    message.in_language(current())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadcard_core::locale::k;

    #[tokio::test]
    async fn a_task_writes_in_its_language_and_english_outside_one() {
        let message = Message::new(k::ERROR_UNAUTHENTICATED);
        assert_eq!(said(&message), "Sign in to continue.");
        let inside = scoped(Language::Ru, async { said(&message) }).await;
        assert_eq!(inside, "Войдите, чтобы продолжить.");
    }
}
