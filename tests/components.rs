//! Browser tests of the app's components, mounted into the document with plain props (no network).
#![cfg(target_arch = "wasm32")]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use leadcard::components::filter_builder::FilterBuilder;
use leadcard::components::lead_card::{CardHeader, LeadCardView, PropertyRow, SubscriptionInfo};
use leadcard::components::lead_table::{LeadTable, ROW_HEIGHT};
use leadcard::components::presence_badge::PresenceBadge;
use leadcard::paths;
use leadcard_core::filter::{Condition, Filter, PropertyOp};
use leadcard_core::wire::{LeadCard, LeadSummary, Property, Subscription};
use leadcard_core::{BounceKind, PropertyValue, SubscriptionStatus};
use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

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
            <div class="online"><PresenceBadge now last_heartbeat=Some(t(190)) last_active=Some(t(185))/></div>
            <div class="sleeping"><PresenceBadge now last_heartbeat=Some(t(190)) last_active=Some(t(0))/></div>
            <div class="offline"><PresenceBadge now last_heartbeat=Some(t(0)) last_active=Some(t(0))/></div>
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
                <CardHeader name="Anna Maria Schmidt".into() url=None last_seen=None last_heartbeat=None last_active=None now=t(0)/>
            </div>
            <div class="with">
                <CardHeader
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
    assert_eq!(picture.get_attribute("src").as_deref(), Some("https://example.com/ben.png"));
}

#[wasm_bindgen_test]
fn property_rows_format_values_by_type_and_render_markup_as_text() {
    let root = host();
    let property = |name: &str, value: PropertyValue| Property { name: name.into(), value, updated_at: t(0) };
    let script = "<script>window.injected = true</script><b>bold</b>";
    let rows = vec![
        property("Last purchase amount", PropertyValue::Number(120.5)),
        property("$sessions", PropertyValue::Number(1000.0)),
        property("$email", PropertyValue::Text(script.into())),
        property("interests", PropertyValue::List(vec!["shoes".into(), "hats".into()])),
        property("newsletter", PropertyValue::Bool(true)),
    ];
    let _mounted = mount_to(root.clone(), move || {
        view! { <dl>{rows.into_iter().map(|property| view! { <PropertyRow property/> }).collect_view()}</dl> }
    });
    assert_eq!(text(&root, "[data-name='Last purchase amount'] .property__value"), "120.5");
    assert_eq!(text(&root, "[data-name='$sessions'] .property__value"), "1000");
    assert_eq!(text(&root, "[data-name='$sessions'] .property__name"), "Sessions");
    assert_eq!(text(&root, "[data-name='$email'] .property__name"), "Email");
    assert_eq!(text(&root, "[data-name='$email'] .property__value"), script);
    assert_eq!(count(&root, "script"), 0);
    assert_eq!(count(&root, "b"), 0);
    assert_eq!(count(&root, "[data-name=interests] .property__item"), 2);
    assert_eq!(text(&root, "[data-name=newsletter] .property__value"), "true");
}

#[wasm_bindgen_test]
fn subscription_shows_the_core_label_and_the_bounce() {
    let root = host();
    let subscription = Subscription {
        email: Some("anna@example.com".into()),
        status: SubscriptionStatus::Bounced,
        bounce: Some(BounceKind::Hard),
        reason: Some("550 mailbox unavailable".into()),
        changed_at: Some(t(0)),
    };
    let _mounted = mount_to(root.clone(), move || view! { <SubscriptionInfo subscription/> });
    assert_eq!(text(&root, "[data-testid=subscription-status]"), "Bounced");
    assert_eq!(text(&root, ".subscription__bounce"), "Hard bounce");
    assert_eq!(text(&root, ".subscription__reason"), "550 mailbox unavailable");
}

#[wasm_bindgen_test]
fn the_card_places_every_block_with_its_selectors() {
    let root = host();
    let card = LeadCard {
        id: 42,
        version: 3,
        display_name: "Lead #42".into(),
        avatar_url: None,
        created_at: t(0),
        last_seen: Some(t(0)),
        last_heartbeat: Some(t(100)),
        last_active: Some(t(100)),
        properties: vec![
            Property { name: "plan".into(), value: PropertyValue::Text("pro".into()), updated_at: t(0) },
            Property { name: "$email".into(), value: PropertyValue::Text("a@example.com".into()), updated_at: t(0) },
        ],
        tags: vec!["vip".into(), "trial".into()],
        subscription: Subscription {
            email: Some("a@example.com".into()),
            status: SubscriptionStatus::Subscribed,
            bounce: None,
            reason: None,
            changed_at: None,
        },
    };
    let _mounted = mount_to(root.clone(), move || view! { <LeadCardView card now=t(130)/> });
    assert_eq!(count(&root, "[data-testid=lead-card]"), 1);
    assert_eq!(text(&root, "[data-testid=lead-name]"), "Lead #42");
    assert_eq!(text(&root, "[data-testid=lead-avatar]"), "L4");
    assert_eq!(text(&root, "[data-testid=lead-presence]"), "online");
    assert_eq!(
        texts(&root, "[data-testid=property-row] .property__name"),
        ["Email", "plan"],
        "system properties come first"
    );
    assert_eq!(text(&root, "[data-testid=subscription-status]"), "Subscribed");
    assert_eq!(count(&root, "[data-testid=lead-tags] .tag"), 2);
    assert_eq!(count(&root, "[data-testid=card-menu]"), 1);
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
    assert_eq!(*applied.lock().expect("lock"), [Filter { all: vec![Condition::Tag { tag: "vip".into(), has: true }] }]);
}

#[wasm_bindgen_test]
fn sign_in_only_returns_to_paths_on_this_site() {
    assert_eq!(paths::after_sign_in(Some("/leads/7?tab=events")), "/leads/7?tab=events");
    assert_eq!(paths::after_sign_in(Some("//evil.example")), "/leads");
    assert_eq!(paths::after_sign_in(Some("/\\evil.example")), "/leads");
    assert_eq!(paths::after_sign_in(Some("https://evil.example")), "/leads");
    assert_eq!(paths::after_sign_in(None), "/leads");
    assert_eq!(paths::login("/leads?q=anna"), "/login?next=%2Fleads%3Fq%3Danna");
    assert_eq!(paths::leads("anna", ""), "/leads?q=anna");
}
