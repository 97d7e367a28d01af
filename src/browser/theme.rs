//! Light or dark: the system's choice (`prefers-color-scheme`) unless the operator picked one in
//! the navigation's switch, remembered in this browser. The choice is `data-theme` on `<html>`;
//! style/main.css picks each colour with `light-dark()`, and public/start.js applies a stored
//! choice before the app starts, so a dark page never flashes light.

use leptos::prelude::*;

use crate::browser::i18n::{k, t};
use crate::browser::storage;

/// Where the choice is kept (public/start.js reads the same key).
pub const STORAGE_KEY: &str = "leadcard.theme";

/// The operator's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        t(match self {
            Theme::System => k::THEME_SYSTEM,
            Theme::Light => k::THEME_LIGHT,
            Theme::Dark => k::THEME_DARK,
        })
    }

    pub fn parse(text: &str) -> Theme {
        match text {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The stored choice (none: the system's).
    pub fn stored() -> Theme {
        storage::get(STORAGE_KEY).map_or(Theme::System, |t| Theme::parse(&t))
    }

    /// Applies the choice to the page and remembers it.
    pub fn choose(self) {
        match self {
            Theme::System => storage::remove(STORAGE_KEY),
            theme => storage::set(STORAGE_KEY, theme.as_str()),
        }
        let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
        if let Some(root) = root {
            let _ = match self {
                Theme::System => root.remove_attribute("data-theme"),
                theme => root.set_attribute("data-theme", theme.as_str()),
            };
        }
    }
}

/// The switch: System, Light or Dark.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let theme = RwSignal::new(Theme::stored());
    view! {
        <select
            class="select theme-switch"
            data-testid="theme-switch"
            aria-label=t(k::THEME_LABEL)
            prop:value=move || theme.get().as_str()
            on:change=move |ev| {
                let chosen = Theme::parse(&event_target_value(&ev));
                chosen.choose();
                theme.set(chosen);
            }
        >
            {Theme::ALL.into_iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
        </select>
    }
}
