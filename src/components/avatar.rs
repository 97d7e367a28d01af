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

/// Where the console loads a lead's `$avatar` from: our own server, which fetches it (a lead's
/// URL would learn every operator's address, and the console's policy loads images only from its
/// origin). The address's hash in the query makes a changed avatar a new picture for the cache.
pub fn lead_avatar_src(lead_id: i64, url: Option<&str>) -> Option<String> {
    let url = url.map(str::trim).filter(|u| !u.is_empty())?;
    // FNV-1a: short and stable; it only tells versions of one lead's avatar apart.
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    Some(format!("/api/v1/leads/{lead_id}/avatar?v={hash:016x}"))
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
