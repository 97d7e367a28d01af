//! A lead's or operator's avatar: the picture when there is one that loads, initials otherwise.

use leadcard_core::property::initials;
use leptos::prelude::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AvatarSize {
    Small,
    #[default]
    Medium,
    Large,
}

impl AvatarSize {
    fn class(self) -> &'static str {
        match self {
            AvatarSize::Small => "avatar avatar--small",
            AvatarSize::Medium => "avatar avatar--medium",
            AvatarSize::Large => "avatar avatar--large",
        }
    }
}

/// `name` is the display name (initials come from core); `url` the picture, if any.
#[component]
pub fn Avatar(
    name: String,
    url: Option<String>,
    #[prop(optional)] size: AvatarSize,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let url = url.filter(|u| !u.trim().is_empty());
    let broken = RwSignal::new(false);
    let letters = initials(&name);
    // A stable colour per name, so a list of initials is easy to scan.
    let hue = name.bytes().fold(0u32, |h, b| (h * 31 + u32::from(b)) % 360);
    move || match url.clone().filter(|_| !broken.get()) {
        Some(src) => view! {
            <img
                class=size.class()
                data-testid=testid
                src=src
                alt=""
                loading="lazy"
                on:error=move |_| broken.set(true)
            />
        }
        .into_any(),
        None => view! {
            <span class=size.class() data-testid=testid style=format!("--avatar-hue: {hue}") aria-hidden="true">
                {letters.clone()}
            </span>
        }
        .into_any(),
    }
}
