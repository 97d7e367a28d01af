//! Where the lead is: city and country, and the lead's local time now from `$timezone`, through the
//! browser's Intl. A zone the browser does not know shows the place without a time.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::browser::i18n::{k, t};
use crate::time;

/// `now` should change each minute; the time follows it.
#[component]
pub fn LeadLocation(
    city: Option<String>,
    country: Option<String>,
    timezone: Option<String>,
    #[prop(into)] now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let place = [city, country].into_iter().flatten().filter(|part| !part.trim().is_empty()).collect::<Vec<_>>();
    let known = !place.is_empty();
    let place = if known { place.join(", ") } else { t(k::CARD_LOCATION_UNKNOWN).to_owned() };
    let zone = timezone.filter(|zone| !zone.trim().is_empty());
    let local_time = move || {
        let zone = zone.clone()?;
        let shown = time::time_in_zone(&zone, now.get())?;
        Some(view! {
            <span class="lead-location__time">
                <span data-testid="local-time" title=zone>{shown}</span>
                {t(k::CARD_LOCAL_TIME)}
            </span>
        })
    };
    view! {
        <div class="lead-location">
            <span class="lead-location__place" class:lead-location__place--unknown=!known data-testid="location">{place}</span>
            {local_time}
        </div>
    }
}
