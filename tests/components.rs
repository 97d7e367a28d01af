//! Browser tests of the app's components, mounted into the document with plain props (no network).
#![cfg(target_arch = "wasm32")]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use leadcard::components::avatar::lead_avatar_src;
use leadcard::components::filter_builder::FilterBuilder;
use leadcard::components::lead_card::{
    CardHeader, CardNotes, LeadCardView, LeadLocation, PropertyEditor, SubscriptionInfo,
};
use leadcard::components::lead_table::{LeadTable, ROW_HEIGHT};
use leadcard::components::presence_badge::PresenceBadge;
use leadcard::paths;
use leadcard_core::filter::{Condition, Filter, PropertyOp};
use leadcard_core::wire::{LeadCard, LeadSummary, Note, Property, Subscription};
use leadcard_core::{
    BounceCause, BounceKind, EmailActions, EmailSettings, PropertyName, PropertyValue, SubscriptionStatus,
};
use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, EventInit, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a valid time")
}

/// A fresh element in the document to mount into.
fn host() -> HtmlElement {
    let document = document();
    let host = document.create_element("div").expect("div").unchecked_into::<HtmlElement>();
    document.body().expect("body").append_child(&host).expect("appended");
    host
}

/// Lets the browser lay out and run observers (a resize observer reports at the next frame).
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50).expect("timer");
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.expect("timer fired");
}

fn find(root: &Element, selector: &str) -> Element {
    root.query_selector(selector).expect("selector").unwrap_or_else(|| panic!("nothing matches {selector}"))
}

fn count(root: &Element, selector: &str) -> u32 {
    root.query_selector_all(selector).expect("selector").length()
}

fn text(root: &Element, selector: &str) -> String {
    find(root, selector).text_content().unwrap_or_default().trim().to_owned()
}

fn texts(root: &Element, selector: &str) -> Vec<String> {
    let nodes = root.query_selector_all(selector).expect("selector");
    (0..nodes.length()).filter_map(|i| nodes.item(i)?.text_content()).map(|t| t.trim().to_owned()).collect()
}

fn click(root: &Element, selector: &str) {
    find(root, selector).unchecked_into::<HtmlElement>().click();
}

/// Types `value` into the input matching `selector`, as the browser reports typing (a bubbling input event).
fn type_into(root: &Element, selector: &str, value: &str) {
    let input = find(root, selector).unchecked_into::<HtmlInputElement>();
    input.set_value(value);
    let init = EventInit::new();
    init.set_bubbles(true);
    input
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).expect("event"))
        .expect("dispatched");
}

fn property(name: &str, value: PropertyValue) -> Property {
    Property { name: name.into(), value, updated_at: t(0) }
}

fn card(properties: Vec<Property>) -> LeadCard {
    LeadCard {
        id: 42,
        version: 3,
        display_name: "Lead #42".into(),
        avatar_url: None,
        created_at: t(0),
        last_seen: Some(t(0)),
        last_heartbeat: Some(t(100)),
        last_active: Some(t(100)),
        properties,
        tags: vec!["vip".into(), "trial".into()],
        subscription: Subscription {
            email: Some("a@example.com".into()),
            status: SubscriptionStatus::Subscribed,
            bounce: None,
            bounce_cause: None,
            reason: None,
            changed_at: None,
            cool_down_until: None,
            actions: EmailActions::of(None, &EmailSettings::default(), t(0)),
        },
    }
}

fn lead(id: i64) -> LeadSummary {
    LeadSummary {
        id,
        display_name: format!("Lead {id}"),
        email: Some(format!("lead{id}@example.com")),
        avatar_url: None,
        city: Some("Berlin".into()),
        country: Some("Germany".into()),
        last_seen: Some(t(0)),
        last_heartbeat: None,
        last_active: None,
        tags: vec!["vip".into()],
        subscription: SubscriptionStatus::Subscribed,
    }
}

#[wasm_bindgen_test]
async fn presence_badge_shows_online_sleeping_and_offline_and_follows_the_clock() {
    let root = host();
    let now = RwSignal::new(t(200));
    let _mounted = mount_to(root.clone(), move || {
        view! {
            <div class="online"><PresenceBadge lead=1 now last_heartbeat=Some(t(190)) last_active=Some(t(185))/></div>
            <div class="sleeping"><PresenceBadge lead=2 now last_heartbeat=Some(t(190)) last_active=Some(t(0))/></div>
            <div class="offline"><PresenceBadge lead=3 now last_heartbeat=Some(t(0)) last_active=Some(t(0))/></div>
        }
    });
    assert_eq!(text(&root, ".online .presence"), "online");
    assert_eq!(text(&root, ".sleeping .presence"), "sleeping");
    assert_eq!(text(&root, ".offline .presence"), "offline");
    assert!(find(&root, ".online .presence").class_list().contains("presence--online"));

    // Two minutes without a heartbeat: the same badge turns offline without a reload.
    now.set(t(310));
    leptos::task::tick().await;
    assert_eq!(text(&root, ".online .presence"), "offline");
}

#[wasm_bindgen_test]
fn card_header_shows_initials_without_an_avatar_and_the_picture_with_one() {
    let root = host();
    let _mounted = mount_to(root.clone(), || {
        view! {
            <div class="without">
                <CardHeader lead=1 name="Anna Maria Schmidt".into() url=None last_seen=None last_heartbeat=None last_active=None now=t(0)/>
            </div>
            <div class="with">
                <CardHeader
                    lead=2
                    name="Ben".into()
                    url=Some("https://example.com/ben.png".into())
                    last_seen=Some(t(0))
                    last_heartbeat=None
                    last_active=None
                    now=t(30)
                />
            </div>
        }
    });
    let initials = find(&root, ".without [data-testid=lead-avatar]");
    assert_eq!(initials.tag_name(), "SPAN");
    assert_eq!(initials.text_content().as_deref(), Some("AS"));
    assert_eq!(text(&root, ".without [data-testid=lead-name]"), "Anna Maria Schmidt");
    assert_eq!(text(&root, ".without [data-testid=lead-presence]"), "offline");

    let picture = find(&root, ".with [data-testid=lead-avatar]");
    assert_eq!(picture.tag_name(), "IMG");
    // The picture comes through our own server (the lead's URL is never asked by the browser),
    // with the URL's hash for the cache: another URL, another address.
    let src = picture.get_attribute("src").unwrap_or_default();
    assert!(src.starts_with("/api/v1/leads/2/avatar?v="), "{src}");
    assert_eq!(Some(src), lead_avatar_src(2, Some("https://example.com/ben.png")));
    assert_ne!(
        lead_avatar_src(2, Some("https://example.com/ben.png")),
        lead_avatar_src(2, Some("https://example.com/b.png"))
    );
    assert_eq!(lead_avatar_src(2, Some("  ")), None);
}

#[wasm_bindgen_test]
fn property_rows_format_values_by_type_and_render_markup_as_text() {
    let root = host();
    let script = "<script>window.injected = true</script><b>bold</b>";
    let rows = vec![
        property("Last purchase amount", PropertyValue::Number(120.5)),
        property("$sessions", PropertyValue::Number(1000.0)),
        property("$email", PropertyValue::Text(script.into())),
        property("interests", PropertyValue::List(vec!["shoes".into(), "hats".into()])),
        property("newsletter", PropertyValue::Bool(true)),
    ];
    let card = card(rows);
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadCardView card now=t(0) pins=Some(Vec::new()) notes=Ok(Vec::new()) me=None/> }
    });
    assert_eq!(text(&root, "[data-name='Last purchase amount'] .property__value"), "120.5");
    // Numbers by the browser's locale (Intl): "1,000" in the test browser's en-US.
    assert_eq!(text(&root, "[data-name='$sessions'] .property__value"), leadcard::browser::intl::number(1000.0));
    assert_ne!(text(&root, "[data-name='$sessions'] .property__value"), "1000", "grouped by the locale");
    assert_eq!(text(&root, "[data-name='$sessions'] .property__name"), "Sessions");
    assert_eq!(text(&root, "[data-name='$email'] .property__name"), "Email");
    assert_eq!(text(&root, "[data-name='$email'] .property__value"), script);
    assert_eq!(count(&root, "script"), 0);
    assert_eq!(count(&root, "b"), 0);
    assert_eq!(count(&root, "[data-name=interests] .property__item"), 2);
    assert_eq!(text(&root, "[data-name=newsletter] .property__value"), "true");
}

#[wasm_bindgen_test]
async fn tracking_only_properties_offer_copy_but_not_edit_or_delete() {
    let root = host();
    let card = card(vec![
        property("$sessions", PropertyValue::Number(4.0)),
        property("plan", PropertyValue::Text("pro".into())),
    ]);
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadCardView card now=t(0) pins=Some(Vec::new()) notes=Ok(Vec::new()) me=None/> }
    });
    click(&root, "[data-name='$sessions'] [data-testid=property-menu]");
    leptos::task::tick().await;
    assert_eq!(count(&root, "[data-name='$sessions'] [data-testid=property-copy]"), 1);
    assert_eq!(count(&root, "[data-name='$sessions'] [data-testid=property-edit]"), 0);
    assert_eq!(count(&root, "[data-name='$sessions'] [data-testid=property-delete]"), 0);

    click(&root, "[data-name=plan] [data-testid=property-menu]");
    leptos::task::tick().await;
    assert_eq!(count(&root, "[data-name=plan] [data-testid=property-delete]"), 1);
    click(&root, "[data-name=plan] [data-testid=property-edit]");
    settle().await;
    let input = find(&root, "[data-name=plan] [data-testid=property-editor] input[name=value]");
    assert_eq!(input.unchecked_into::<HtmlInputElement>().value(), "pro");
}

#[wasm_bindgen_test]
fn pinned_properties_show_in_the_header_in_pin_order() {
    let root = host();
    let card = card(vec![
        property("$email", PropertyValue::Text("a@example.com".into())),
        property("plan", PropertyValue::Text("pro".into())),
    ]);
    let pins = Some(vec!["plan".to_owned(), "$email".to_owned(), "$phone".to_owned()]);
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadCardView card now=t(0) pins notes=Ok(Vec::new()) me=None/> }
    });
    assert_eq!(texts(&root, "[data-testid=pinned-property] .pinned__label"), ["plan", "Email", "Phone"]);
    assert_eq!(texts(&root, "[data-testid=pinned-property] .pinned__value"), ["pro", "a@example.com", "—"]);
    assert_eq!(count(&root, "[data-testid=pinned] [data-testid=unpin]"), 3);
    assert_eq!(
        find(&root, "[data-name=plan] [data-testid=pin]").get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
}

#[wasm_bindgen_test]
fn without_pins_there_is_nothing_to_pin_with() {
    let root = host();
    let card = card(vec![property("plan", PropertyValue::Text("pro".into()))]);
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadCardView card now=t(0) pins=None notes=Ok(Vec::new()) me=None/> }
    });
    assert_eq!(count(&root, "[data-testid=pin]"), 0);
    assert_eq!(count(&root, "[data-testid=pinned-property]"), 0);
}

type Saved = Arc<Mutex<Vec<(PropertyName, PropertyValue)>>>;

/// Mounts an editor of `name` starting from `value`; what it saves lands in the returned list.
fn editor(root: &HtmlElement, name: &str, value: PropertyValue) -> (impl Sized, Saved) {
    let saved = Saved::default();
    let on_save = {
        let saved = saved.clone();
        move |save| saved.lock().expect("lock").push(save)
    };
    let name = name.to_owned();
    let mounted = mount_to(root.clone(), move || {
        view! { <PropertyEditor name value on_save on_cancel=|()| {} saving=false refusal=RwSignal::new(None)/> }
    });
    (mounted, saved)
}

#[wasm_bindgen_test]
async fn the_email_editor_says_why_a_cyrillic_address_is_invalid_as_the_operator_types() {
    let root = host();
    let (_mounted, saved) = editor(&root, "$email", PropertyValue::Text("anna@example.com".into()));
    assert_eq!(count(&root, "[data-testid=editor-error]"), 0);
    type_into(&root, "input[name=value]", "иван@пример.рф");
    leptos::task::tick().await;
    let error = text(&root, "[data-testid=editor-error]");
    assert!(error.contains("contains non-ASCII characters"), "{error}");

    // An invalid address can still be stored.
    click(&root, "[data-testid=editor-save]");
    leptos::task::tick().await;
    let name = PropertyName::parse("$email").expect("system name");
    assert_eq!(*saved.lock().expect("lock"), [(name, PropertyValue::Text("иван@пример.рф".into()))]);

    type_into(&root, "input[name=value]", "ivan@example.com");
    leptos::task::tick().await;
    assert_eq!(count(&root, "[data-testid=editor-error]"), 0);
}

#[wasm_bindgen_test]
async fn the_number_editor_shows_numbers_as_the_card_does_and_refuses_what_core_refuses() {
    let root = host();
    let (_mounted, saved) = editor(&root, "Last purchase amount", PropertyValue::Number(120.5));
    let whole = host();
    let _whole = editor(&whole, "visits", PropertyValue::Number(1_000_000.0));
    // Reactive properties such as an input's value are set after the first render.
    leptos::task::tick().await;
    let input = find(&root, "input[name=value]").unchecked_into::<HtmlInputElement>();
    assert_eq!((input.type_().as_str(), input.value().as_str()), ("number", "120.5"));

    assert_eq!(find(&whole, "input[name=value]").unchecked_into::<HtmlInputElement>().value(), "1000000");

    type_into(&root, "input[name=value]", "18014398509481984");
    leptos::task::tick().await;
    assert_eq!(text(&root, "[data-testid=editor-error]"), "whole numbers must lie within ±2^53");
    click(&root, "[data-testid=editor-save]");
    leptos::task::tick().await;
    assert!(saved.lock().expect("lock").is_empty(), "a refused value is not saved");

    type_into(&root, "input[name=value]", "99.95");
    leptos::task::tick().await;
    click(&root, "[data-testid=editor-save]");
    leptos::task::tick().await;
    assert_eq!(saved.lock().expect("lock").last().map(|(_, v)| v.clone()), Some(PropertyValue::Number(99.95)));
}

#[wasm_bindgen_test]
async fn the_date_editor_shows_the_operators_local_time_and_saves_utc() {
    let root = host();
    let moment = t(0);
    let (_mounted, saved) = editor(&root, "Renewal", PropertyValue::DateTime(moment));
    leptos::task::tick().await;
    let input = find(&root, "input[name=value]").unchecked_into::<HtmlInputElement>();
    assert_eq!(input.type_(), "datetime-local");
    // The browser's own reading of the moment in the operator's zone.
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(moment.timestamp_millis() as f64));
    let expected = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    );
    assert_eq!(input.value(), expected);

    click(&root, "[data-testid=editor-save]");
    leptos::task::tick().await;
    assert_eq!(saved.lock().expect("lock").last().map(|(_, v)| v.clone()), Some(PropertyValue::DateTime(moment)));

    type_into(&root, "input[name=value]", "2027-03-01T10:00");
    leptos::task::tick().await;
    click(&root, "[data-testid=editor-save]");
    leptos::task::tick().await;
    let typed = js_sys::Date::new(&"2027-03-01T10:00".into()).get_time();
    let saved_at = saved.lock().expect("lock").last().map(|(_, v)| v.clone());
    assert_eq!(saved_at, Some(PropertyValue::DateTime(DateTime::from_timestamp_millis(typed as i64).expect("time"))));
}

#[wasm_bindgen_test]
fn a_note_is_shown_as_text_only_its_author_may_edit_or_delete_it_and_an_edit_is_marked() {
    let root = host();
    let body = "Called <img src=x onerror=\"window.pwned = 1\">\nsecond line";
    let notes = vec![
        Note {
            id: 2,
            body: body.into(),
            author_id: 7,
            author_name: "Demo Operator".into(),
            created_at: t(60),
            edited_at: Some(t(90)),
        },
        Note {
            id: 1,
            body: "first".into(),
            author_id: 8,
            author_name: "Someone Else".into(),
            created_at: t(0),
            edited_at: None,
        },
    ];
    let _mounted = mount_to(root.clone(), move || view! { <CardNotes lead=42 notes=Ok(notes) me=Some(7)/> });
    assert_eq!(count(&root, "[data-testid=note]"), 2);
    assert_eq!(find(&root, "[data-testid=note] .note__body").text_content().as_deref(), Some(body));
    assert_eq!(count(&root, "img"), 0);
    assert_eq!(texts(&root, "[data-testid=note] .note__author"), ["Demo Operator", "Someone Else"]);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(1) [data-testid=note-delete]"), 1);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(2) [data-testid=note-delete]"), 0);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(1) [data-testid=note-edit]"), 1);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(2) [data-testid=note-edit]"), 0);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(1) [data-testid=note-edited]"), 1);
    assert_eq!(count(&root, "[data-testid=note]:nth-child(2) [data-testid=note-edited]"), 0);
}

#[wasm_bindgen_test]
fn the_local_time_follows_the_lead_zone_and_an_unknown_zone_shows_none() {
    let root = host();
    let _mounted = mount_to(root.clone(), || {
        view! {
            <div class="berlin">
                <LeadLocation city=Some("Berlin".into()) country=Some("Germany".into()) timezone=Some("Europe/Berlin".into()) now=t(0)/>
            </div>
            <div class="mars">
                <LeadLocation city=Some("Olympus Base".into()) country=None timezone=Some("Mars/Olympus".into()) now=t(0)/>
            </div>
        }
    });
    assert_eq!(text(&root, ".berlin [data-testid=location]"), "Berlin, Germany");
    // 2027-01-15 08:00 UTC is 09:00 in Berlin (CET).
    let time = text(&root, ".berlin [data-testid=local-time]");
    assert!(time.contains("09:00") || time.contains("9:00"), "{time}");
    assert_eq!(text(&root, ".mars [data-testid=location]"), "Olympus Base");
    assert_eq!(count(&root, ".mars [data-testid=local-time]"), 0);
}

#[wasm_bindgen_test]
fn subscription_shows_the_core_label_and_the_bounce() {
    let root = host();
    let subscription = Subscription {
        email: Some("anna@example.com".into()),
        status: SubscriptionStatus::Bounced,
        bounce: Some(BounceKind::Soft),
        bounce_cause: Some(BounceCause::MailboxFull),
        reason: Some("552 5.2.2 mailbox full".into()),
        changed_at: Some(t(0)),
        cool_down_until: None,
        actions: EmailActions::of(None, &EmailSettings::default(), t(0)),
    };
    let _mounted = mount_to(root.clone(), move || view! { <SubscriptionInfo subscription/> });
    assert_eq!(text(&root, "[data-testid=subscription-status]"), "Bounced — soft: mailbox full");
    assert_eq!(
        text(&root, "[data-testid=bounce-reason]"),
        "552 5.2.2 mailbox full",
        "the server's words beside the cause"
    );
    assert_eq!(count(&root, "[data-testid=subscription][data-status=bounced]"), 1);
    assert_eq!(text(&root, ".subscription__email"), "anna@example.com");
}

#[wasm_bindgen_test]
fn the_card_places_every_block_with_its_selectors() {
    let root = host();
    let mut card = card(vec![
        property("plan", PropertyValue::Text("pro".into())),
        property("$email", PropertyValue::Text("a@example.com".into())),
        property("$city", PropertyValue::Text("Berlin".into())),
        property("$timezone", PropertyValue::Text("Europe/Berlin".into())),
    ]);
    card.subscription.status = SubscriptionStatus::Subscribed;
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadCardView card now=t(130) pins=Some(Vec::new()) notes=Ok(Vec::new()) me=Some(1)/> }
    });
    assert_eq!(count(&root, "[data-testid=lead-card]"), 1);
    assert_eq!(text(&root, "[data-testid=lead-name]"), "Lead #42");
    assert_eq!(text(&root, "[data-testid=lead-avatar]"), "L4");
    assert_eq!(text(&root, "[data-testid=lead-presence]"), "online");
    assert_eq!(
        texts(&root, "[data-testid=property-row] .property__name"),
        ["Email", "City", "Time zone", "plan"],
        "system properties come first"
    );
    assert_eq!(text(&root, "[data-testid=subscription-status]"), "Subscribed");
    assert_eq!(count(&root, "[data-testid=lead-tags] [data-testid=tag]"), 2);
    assert_eq!(count(&root, "[data-testid=lead-tags] [data-testid=tag-remove]"), 2);
    assert_eq!(count(&root, "input[data-testid=tag-input]"), 1);
    assert_eq!(count(&root, "[data-testid=card-menu]"), 1);
    assert_eq!(count(&root, "[data-testid=property-add]"), 1);
    assert_eq!(count(&root, "[data-testid=notes] textarea[data-testid=note-input]"), 1);
    assert_eq!(text(&root, "[data-testid=location]"), "Berlin");
    assert_eq!(count(&root, "[data-testid=local-time]"), 1);
    assert_eq!(count(&root, "[data-testid=conflict]"), 0);
    assert_eq!(count(&root, "[data-testid=card-communications] [data-testid=card-composer] textarea[name=body]"), 1);
    assert_eq!(count(&root, "[data-testid=card-communications] [data-testid=channel-email]"), 1);
    assert_eq!(count(&root, "[data-testid=conversation-history]"), 1);
}

#[wasm_bindgen_test]
async fn the_leads_table_renders_only_a_window_of_many_rows_and_asks_for_more_near_the_end() {
    let style = document().create_element("style").expect("style");
    style.set_text_content(Some(".lead-table__body { height: 400px; overflow-y: auto; }"));
    document().head().expect("head").append_child(&style).expect("appended");

    let root = host();
    let rows = RwSignal::new((0..5_000).map(lead).collect::<Vec<_>>());
    let asked = Arc::new(Mutex::new(0));
    let on_near_end = {
        let asked = asked.clone();
        move |()| *asked.lock().expect("lock") += 1
    };
    let _mounted = mount_to(root.clone(), move || {
        view! { <LeadTable rows now=t(0) on_near_end=on_near_end>"end"</LeadTable> }
    });
    settle().await;
    let rendered = count(&root, "[data-testid=lead-row]");
    assert!((16..60).contains(&rendered), "{rendered} rows in the DOM for 5000 leads");
    assert_eq!(text(&root, "[data-testid=lead-row] a.lead-row__name"), "Lead 0");
    assert_eq!(
        find(&root, "[data-testid=lead-row] a.lead-row__name").get_attribute("href").as_deref(),
        Some("/leads/0")
    );
    assert_eq!(*asked.lock().expect("lock"), 0);

    let body = find(&root, ".lead-table__body");
    body.set_scroll_top((4_990.0 * ROW_HEIGHT) as i32);
    body.dispatch_event(&web_sys::Event::new("scroll").expect("event")).expect("dispatched");
    settle().await;
    let rendered = count(&root, "[data-testid=lead-row]");
    assert!(rendered > 0 && rendered < 60, "{rendered} rows in the DOM after scrolling");
    let names = texts(&root, "[data-testid=lead-row] a.lead-row__name");
    assert_eq!(names.last().map(String::as_str), Some("Lead 4999"));
    assert!(!names.iter().any(|name| name == "Lead 0"), "rows scrolled out of view leave the DOM");
    assert!(*asked.lock().expect("lock") >= 1, "near the end of the loaded rows the table asks for more");
}

#[wasm_bindgen_test]
async fn the_filter_builder_checks_the_draft_with_core_rules_before_applying() {
    let root = host();
    let applied = Arc::new(Mutex::new(Vec::<Filter>::new()));
    let initial = Filter {
        all: vec![
            Condition::Tag { tag: "vip".into(), has: true },
            Condition::Property { name: "amount".into(), op: PropertyOp::Greater, value: "lots".into() },
        ],
        ..Filter::default()
    };
    let on_apply = {
        let applied = applied.clone();
        move |filter: Filter| applied.lock().expect("lock").push(filter)
    };
    let _mounted = mount_to(root.clone(), move || {
        view! { <FilterBuilder initial server_error=None properties=Vec::new() tags=Vec::new() on_apply/> }
    });
    assert_eq!(count(&root, "[data-testid=filter-condition]"), 2);
    find(&root, "[data-testid=filter-apply]").unchecked_into::<HtmlElement>().click();
    leptos::task::tick().await;
    let error = text(&root, "[data-testid=filter-condition]:nth-of-type(2) [data-testid=filter-error]");
    assert!(error.contains("condition 2") && error.contains("not a number"), "{error}");
    assert!(applied.lock().expect("lock").is_empty(), "a refused draft is not applied");

    find(&root, "[data-testid=filter-condition]:nth-of-type(2) [data-testid=filter-remove]")
        .unchecked_into::<HtmlElement>()
        .click();
    leptos::task::tick().await;
    find(&root, "[data-testid=filter-apply]").unchecked_into::<HtmlElement>().click();
    leptos::task::tick().await;
    assert_eq!(count(&root, "[data-testid=filter-error]"), 0);
    assert_eq!(
        *applied.lock().expect("lock"),
        [Filter { all: vec![Condition::Tag { tag: "vip".into(), has: true }], ..Filter::default() }]
    );
}

#[wasm_bindgen_test]
fn sign_in_only_returns_to_paths_on_this_site() {
    assert_eq!(paths::after_sign_in(Some("/leads/7?tab=events")), "/leads/7?tab=events");
    assert_eq!(paths::after_sign_in(Some("//evil.example")), "/leads");
    assert_eq!(paths::after_sign_in(Some("/\\evil.example")), "/leads");
    assert_eq!(paths::after_sign_in(Some("https://evil.example")), "/leads");
    // What the browser's parser forgives: tabs and newlines dropped, `\` read as `/`, encodings.
    for hostile in
        ["/\t/evil.example", "/\n/evil.example", "/%09/evil.example", "/%2F/evil.example", "/.//evil.example"]
    {
        assert_eq!(paths::after_sign_in(Some(hostile)), "/leads", "{hostile:?}");
    }
    assert_eq!(paths::after_sign_in(None), "/leads");
    assert_eq!(paths::login("/leads?q=anna"), "/login?next=%2Fleads%3Fq%3Danna");
    assert_eq!(paths::leads("anna", ""), "/leads?q=anna");
}

/// JSON sent to the API: maps are objects (not ES Maps, which stringify as `{}`).
#[wasm_bindgen_test]
fn json_writes_maps_as_plain_objects() {
    use leadcard_core::PropertyValue;
    use leadcard_core::tracking::AddEvent;
    let event = AddEvent {
        name: "Called".into(),
        properties: std::collections::BTreeMap::from([("duration".to_owned(), PropertyValue::Number(12.0))]),
        occurred_at: None,
    };
    assert_eq!(
        leadcard::browser::json::to_string(&event).unwrap(),
        r#"{"name":"Called","properties":{"duration":{"type":"number","value":12}}}"#
    );
}

// ---- Inbox and communications (issue 7) ------------------------------------------------------

/// The data layer: one keyset list for every "load more" list, and events delivered to callbacks.
mod data_layer {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leadcard::api::ApiError;
    use leadcard::listeners::{Listeners, listen};
    use leadcard::paged::{Keyed, Page, Paged};
    use leptos::prelude::Owner;

    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item(i64);

    impl Keyed for Item {
        fn key(&self) -> i64 {
            self.0
        }
    }

    /// Pages of `size` items counting down from `top` (newest first), by a cursor of the last id.
    fn pages(top: i64, size: i64) -> impl Fn(Option<String>) -> std::future::Ready<Result<Page<Item>, ApiError>> {
        move |after: Option<String>| {
            let start = after.map_or(top, |a| a.parse::<i64>().expect("cursor") - 1);
            let items: Vec<Item> = (0..size).map(|i| Item(start - i)).filter(|i| i.0 > 0).collect();
            let next = items.last().filter(|last| last.0 > 1).map(|last| last.0.to_string());
            std::future::ready(Ok(Page { items, next }))
        }
    }

    fn ids(list: Paged<Item>) -> Vec<i64> {
        list.items.with_untracked(|items| items.iter().map(|i| i.0).collect())
    }

    #[wasm_bindgen_test]
    async fn a_paged_list_loads_pages_in_order_keeps_each_item_once_and_ends() {
        let owner = Owner::new();
        owner.set();
        let list = Paged::new(pages(5, 2)).sorted_by(|a, b| b.0.cmp(&a.0));
        assert!(list.load_first().await);
        assert_eq!(ids(list), vec![5, 4]);
        assert!(list.fetch_more().await);
        assert_eq!(ids(list), vec![5, 4, 3, 2]);
        // An item that came meanwhile and one already shown: each once, in order.
        list.merge(vec![Item(6), Item(4)]);
        assert_eq!(ids(list), vec![6, 5, 4, 3, 2]);
        assert!(list.fetch_more().await);
        assert_eq!(ids(list), vec![6, 5, 4, 3, 2, 1]);
        assert_eq!(list.next.get_untracked(), None);
        assert!(!list.fetch_more().await, "no page after the last");
        assert!(list.loaded.get_untracked() && !list.loading.get_untracked());
    }

    #[wasm_bindgen_test]
    async fn a_reload_drops_the_answers_of_the_loads_before_it() {
        let owner = Owner::new();
        owner.set();
        let calls = Rc::new(RefCell::new(0));
        let counted = calls.clone();
        let list = Paged::new(move |_after: Option<String>| {
            *counted.borrow_mut() += 1;
            let first = *counted.borrow() == 1;
            async move {
                if first {
                    // The first answer comes late, after the reload's.
                    super::settle().await;
                    Ok(Page { items: vec![Item(1)], next: None })
                } else {
                    Ok(Page { items: vec![Item(2)], next: Some("2".to_owned()) })
                }
            }
        });
        let (late, fresh) = futures::join!(list.load_first(), list.load_first());
        assert!(!late && fresh);
        assert_eq!(ids(list), vec![2]);
        assert_eq!(list.next.get_untracked().as_deref(), Some("2"));
        assert_eq!(*calls.borrow(), 2);
    }

    #[wasm_bindgen_test]
    fn a_callback_hears_each_event_until_its_component_is_gone() {
        thread_local! {
            static EVENTS: Listeners<u32> = const { Listeners::new() };
        }
        let heard = Rc::new(RefCell::new(Vec::new()));
        let owner = Owner::new();
        owner.with(|| {
            let heard = heard.clone();
            listen(&EVENTS, move |n: &u32| heard.borrow_mut().push(*n));
        });
        EVENTS.with(|e| e.emit(&1));
        EVENTS.with(|e| e.emit(&2));
        owner.cleanup();
        EVENTS.with(|e| e.emit(&3));
        assert_eq!(*heard.borrow(), vec![1, 2]);
    }
}

mod inbox {
    use leadcard::components::composer::Composer;
    use leadcard::components::message::{MessageBody, MessageItem};
    use leadcard::drafts;
    use leadcard::pending::{self, PendingSend, Target, Verdict, backoff, next_for, verdict, with_send, without};
    use leadcard_core::inbox::{
        Author, Channel, Conversation, ConversationLead, ConversationStatus, Delivery, Message, OperatorRef, Sent,
        SystemEntry,
    };
    use std::time::Duration;

    use super::*;

    fn js(code: &str) -> wasm_bindgen::JsValue {
        js_sys::Function::new_no_args(code).call0(&wasm_bindgen::JsValue::NULL).expect("script ran")
    }

    fn message(id: i64, author: Author, body: &str) -> Message {
        Message {
            id,
            conversation_id: 7,
            author,
            operator: (author == Author::Operator).then(|| OperatorRef { id: 1, name: "Anna".into() }),
            body: body.into(),
            subject: None,
            system: None,
            delivery: (author == Author::Operator).then_some(Delivery::Delivered),
            emailed_copy: false,
            idempotency_key: None,
            created_at: t(0),
        }
    }

    fn sent(id: i64, body: &str) -> Sent {
        let conversation = Conversation {
            id: 7,
            lead: ConversationLead {
                id: 42,
                display_name: "Lead #42".into(),
                email: None,
                avatar_url: None,
                last_heartbeat: None,
                last_active: None,
            },
            channel: Channel::Chat,
            status: ConversationStatus::Open,
            assignee: None,
            unread: 0,
            last_message: None,
            last_activity_at: t(0),
            created_at: t(0),
        };
        Sent { conversation, message: message(id, Author::Operator, body), created: true }
    }

    fn pending_send(key: &str, target: Target, written_at: i64) -> PendingSend {
        PendingSend { key: key.into(), target, body: "hi".into(), subject: None, written_at, attempts: 0 }
    }

    #[wasm_bindgen_test]
    async fn a_message_body_is_text_and_only_links_become_safe_anchors() {
        let root = host();
        js("delete window.__xss;");
        let body =
            "<img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script> see https://example.com/a?b=1.";
        let _mounted = mount_to(root.clone(), move || view! { <MessageBody body=body/> });
        settle().await;
        assert_eq!(count(&root, "img"), 0);
        assert_eq!(count(&root, "script"), 0);
        assert_eq!(text(&root, ".message__body"), body);
        let link = find(&root, ".message__body a");
        assert_eq!(link.get_attribute("href").as_deref(), Some("https://example.com/a?b=1"));
        assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener noreferrer nofollow"));
        assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
        assert!(js("return window.__xss;").is_undefined(), "nothing the lead wrote ran");
    }

    #[wasm_bindgen_test]
    fn thread_entries_show_the_author_the_delivery_and_system_text_from_core() {
        let root = host();
        let mut system = message(3, Author::System, "");
        system.system = Some(SystemEntry::Assigned { by: "Anna".into(), to: Some("Boris".into()) });
        let lead = message(1, Author::Lead, "Hello");
        let reply = message(2, Author::Operator, "Hi there");
        let _mounted = mount_to(root.clone(), move || {
            view! {
                <ol>
                    <MessageItem message=lead lead_name="Maria" now=t(10)/>
                    <MessageItem message=reply lead_name="Maria" now=t(10)/>
                    <MessageItem message=system lead_name="Maria" now=t(10)/>
                </ol>
            }
        });
        assert_eq!(text(&root, "[data-author=lead] .message__who"), "Maria");
        assert_eq!(text(&root, "[data-author=operator] .message__who"), "Anna");
        assert_eq!(find(&root, "[data-author=operator]").get_attribute("data-delivery").as_deref(), Some("delivered"));
        assert_eq!(text(&root, "[data-author=system]"), format!("{}now", "Anna assigned this conversation to Boris"));
    }

    #[wasm_bindgen_test]
    fn retries_back_off_from_one_second_doubling_up_to_thirty() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(1000), Duration::from_secs(30));
    }

    #[wasm_bindgen_test]
    fn network_failures_and_server_errors_are_retried_and_refusals_are_final() {
        for status in [0, 500, 502, 503, 408, 429] {
            assert_eq!(verdict(status), Verdict::Retry, "{status}");
        }
        for status in [400, 401, 404, 409, 422] {
            assert_eq!(verdict(status), Verdict::Final, "{status}");
        }
        assert_eq!(verdict(201), Verdict::Stored);
        assert_eq!(verdict(200), Verdict::Stored);
    }

    #[wasm_bindgen_test]
    fn pending_sends_go_one_at_a_time_per_place_in_the_order_written() {
        let a = Target::Conversation { id: 1 };
        let b = Target::Lead { id: 2, channel: Channel::Email };
        let list = with_send(Vec::new(), pending_send("k-second", a, 20));
        let list = with_send(list, pending_send("k-first", a, 10));
        let list = with_send(list, pending_send("k-other", b, 5));
        assert_eq!(next_for(&list, a).map(|s| s.key.as_str()), Some("k-first"));
        assert_eq!(next_for(&list, b).map(|s| s.key.as_str()), Some("k-other"));
        // A retry's new attempt count replaces the stored one, it does not add a copy.
        let list = with_send(list, PendingSend { attempts: 3, ..pending_send("k-first", a, 10) });
        assert_eq!(list.len(), 3);
        let list = without(list, "k-first");
        assert_eq!(next_for(&list, a).map(|s| s.key.as_str()), Some("k-second"));
        assert_eq!(pending::parse_stored(Some("not json")), Vec::new());
        assert_eq!(pending::parse_stored(None), Vec::new());
    }

    #[wasm_bindgen_test]
    fn idempotency_keys_are_fresh_and_pass_the_core_check() {
        let (a, b) = (leadcard::browser::random_key(), leadcard::browser::random_key());
        assert_ne!(a, b);
        assert!(leadcard_core::inbox::check_message(Channel::Chat, "hi", None, &a).is_ok(), "{a}");
    }

    #[wasm_bindgen_test]
    async fn a_draft_survives_remounting_and_is_kept_per_conversation() {
        drafts::clear(&drafts::conversation_key(901));
        drafts::clear(&drafts::conversation_key(902));
        let root = host();
        let target = RwSignal::new(Target::Conversation { id: 901 });
        let mounted = mount_to(root.clone(), move || view! { <Composer target channel=Channel::Chat/> });
        type_into(&root, "textarea[name=body]", "Half-written answer");
        assert_eq!(leadcard::browser::storage::get("leadcard.draft.c901").as_deref(), Some("Half-written answer"));
        target.set(Target::Conversation { id: 902 });
        settle().await;
        assert_eq!(find(&root, "textarea[name=body]").unchecked_into::<web_sys::HtmlTextAreaElement>().value(), "");
        drop(mounted);
        assert_eq!(leadcard::browser::storage::get("leadcard.draft.c901").as_deref(), Some("Half-written answer"));

        let again = host();
        let _mounted = mount_to(again.clone(), move || {
            view! { <Composer target=Target::Conversation { id: 901 } channel=Channel::Chat/> }
        });
        settle().await;
        let restored = find(&again, "textarea[name=body]").unchecked_into::<web_sys::HtmlTextAreaElement>().value();
        assert_eq!(restored, "Half-written answer");
    }

    #[wasm_bindgen_test]
    async fn the_composer_shows_the_core_check_inline() {
        let root = host();
        let _mounted = mount_to(root.clone(), move || {
            view! { <Composer target=Target::Conversation { id: 903 } channel=Channel::Chat/> }
        });
        type_into(&root, "textarea[name=body]", "   ");
        click(&root, "[data-testid=send]");
        leptos::task::tick().await;
        assert_eq!(text(&root, "[data-testid=composer-error]"), "Write a message first.");
    }

    /// Replaces `fetch` for the message routes: `mode` fail (network error), refuse (422) or
    /// store (201 with `__reply`); every body sent is kept in `__sent`.
    const FAKE_FETCH: &str = r#"
        window.__sent = [];
        window.__realFetch = window.__realFetch || window.fetch;
        window.fetch = async function (input, init) {
            const request = input instanceof Request ? input : new Request(input, init);
            if (!request.url.includes('/messages')) return window.__realFetch(input, init);
            window.__sent.push(await request.clone().text());
            const json = { 'Content-Type': 'application/json' };
            if (window.__mode === 'fail') throw new TypeError('Failed to fetch');
            if (window.__mode === 'refuse') {
                const error = { error: { code: 'invalid', message: 'The conversation is gone.', field: 'body' } };
                return new Response(JSON.stringify(error), { status: 422, headers: json });
            }
            return new Response(window.__reply, { status: 201, headers: json });
        };
    "#;

    fn sent_keys() -> Vec<String> {
        let sent = js("return window.__sent.map(b => JSON.parse(b).idempotency_key);");
        js_sys::Array::from(&sent).iter().filter_map(|k| k.as_string()).collect()
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        for _ in 0..60 {
            if check() {
                return;
            }
            settle().await;
        }
        panic!("timed out waiting for {what}");
    }

    #[wasm_bindgen_test]
    async fn a_send_stays_pending_through_network_failures_keeps_its_key_and_is_stored_once() {
        leadcard::browser::storage::remove(pending::STORAGE_KEY);
        pending::start();
        js(FAKE_FETCH);
        js("window.__mode = 'fail';");
        let reply = leadcard::browser::json::to_string(&sent(501, "Your parcel left today")).expect("json");
        js(&format!("window.__reply = {};", js_sys::JSON::stringify(&reply.into()).expect("quoted")));

        let root = host();
        let confirmed = Arc::new(Mutex::new(Vec::new()));
        let heard = confirmed.clone();
        let _mounted = mount_to(root.clone(), move || {
            pending::on_confirmed(move |sent| heard.lock().expect("listener").push(sent.message.id));
            view! {
                <ol><leadcard::components::message::PendingMessages target=Target::Conversation { id: 7 }/></ol>
                <Composer target=Target::Conversation { id: 7 } channel=Channel::Chat/>
            }
        });
        type_into(&root, "textarea[name=body]", "Your parcel left today");
        click(&root, "[data-testid=send]");
        until("the first attempt", || sent_keys().len() == 1).await;
        settle().await;
        assert_eq!(count(&root, "[data-testid=message][data-delivery=pending]"), 1);
        assert_eq!(find(&root, "textarea[name=body]").unchecked_into::<web_sys::HtmlTextAreaElement>().value(), "");
        let stored = leadcard::browser::storage::get(pending::STORAGE_KEY).expect("kept for a reload");
        assert!(stored.contains("Your parcel left today"), "{stored}");

        // Back online: tried again at once (not after the back-off), with the same key.
        window().dispatch_event(&web_sys::Event::new("online").expect("event")).expect("dispatched");
        until("the retry", || sent_keys().len() == 2).await;
        js("window.__mode = 'store';");
        window().dispatch_event(&web_sys::Event::new("online").expect("event")).expect("dispatched");
        until("the confirmation", || pending::items().with_untracked(Vec::is_empty)).await;
        settle().await;

        let keys = sent_keys();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| *k == keys[0]), "every attempt carries one key: {keys:?}");
        assert_eq!(count(&root, "[data-testid=message][data-delivery=pending]"), 0);
        assert_eq!(leadcard::browser::storage::get(pending::STORAGE_KEY), None);
        assert_eq!(*confirmed.lock().expect("listener"), vec![501], "the confirmation reaches its listener once");
        js("window.fetch = window.__realFetch;");
    }

    #[wasm_bindgen_test]
    async fn a_refused_send_is_final_and_its_text_returns_to_the_composer_with_the_reason() {
        leadcard::browser::storage::remove(pending::STORAGE_KEY);
        drafts::clear(&drafts::conversation_key(8));
        pending::start();
        js(FAKE_FETCH);
        js("window.__mode = 'refuse';");
        let root = host();
        let _mounted = mount_to(root.clone(), move || {
            view! {
                <ol><leadcard::components::message::PendingMessages target=Target::Conversation { id: 8 }/></ol>
                <Composer target=Target::Conversation { id: 8 } channel=Channel::Chat/>
            }
        });
        type_into(&root, "textarea[name=body]", "Are you still there?");
        click(&root, "[data-testid=send]");
        until("the refusal", || count(&root, "[data-testid=composer-error]") == 1).await;
        assert_eq!(text(&root, "[data-testid=composer-error]"), "The conversation is gone.");
        let back = find(&root, "textarea[name=body]").unchecked_into::<web_sys::HtmlTextAreaElement>().value();
        assert_eq!(back, "Are you still there?");
        assert_eq!(count(&root, "[data-testid=message][data-delivery=failed]"), 1);
        assert_eq!(sent_keys().len(), 1, "a refusal is not retried");
        assert_eq!(leadcard::browser::storage::get(pending::STORAGE_KEY), None);
        js("window.fetch = window.__realFetch;");
    }
}
