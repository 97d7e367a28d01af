//! leadcard's browser app: the operators' console (Leptos CSR), its routes and its pages.

pub mod api;
pub mod browser;
pub mod components;
pub mod drafts;
pub mod listeners;
pub mod live;
pub mod paged;
pub mod pages;
pub mod paths;
pub mod pending;
pub mod session;
pub mod styles;
pub mod time;
pub mod title;

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, NavigateOptions, path};

use crate::components::not_found::NotFound;
use crate::session::Session;

/// The whole app: the session, the router, and the routes.
#[component]
pub fn App() -> impl IntoView {
    Session::provide();
    view! {
        <Router>
            <Routes fallback=|| {
                title::page_title(browser::i18n::t(browser::i18n::k::NOT_FOUND_TITLE));
                view! { <NotFound/> }
            }>
                <Route path=path!("/login") view={Lazy::<Login>::new()}/>
                <Route path=path!("/set-password") view={Lazy::<SetPassword>::new()}/>
                <Route
                    path=path!("/")
                    view=|| view! { <Redirect path=paths::LEADS options=NavigateOptions { replace: true, ..Default::default() }/> }
                />
                // The frame of the signed-in pages is a chunk of its own too: the sign-in page,
                // the first load of a new session, carries neither it nor any page.
                <ParentRoute path=path!("") view={Lazy::<ShellRoute>::new()}>
                    <Route path=path!("/leads") view={Lazy::<Leads>::new()}/>
                    // Before the card's route, which would take "import" for a lead's id.
                    <Route path=path!("/leads/import") view={Lazy::<LeadsImport>::new()}/>
                    <Route path=path!("/leads/:id") view={Lazy::<Lead>::new()}/>
                    // One route, so opening another conversation keeps the list as it is.
                    <Route path=path!("/inbox/:conversation?") view={Lazy::<Inbox>::new()}/>
                    <Route path=path!("/visitors") view={Lazy::<Visitors>::new()}/>
                    <Route path=path!("/segments/:id?") view={Lazy::<Segments>::new()}/>
                    <Route path=path!("/settings") view={Lazy::<Settings>::new()}/>
                    // One chunk for the settings, the operators and the own account: every lazy
                    // route is a split point, and each multiplies the chunks the pages share.
                    <Route path=path!("/settings/operators") view={Lazy::<Settings>::new()}/>
                    <Route path=path!("/account") view={Lazy::<Settings>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A route whose page is its own wasm chunk in the release build: with the `split` feature the
/// page's code sits behind a `#[lazy]` function, which `cargo xtask` splits off (wasm_split) and
/// the browser fetches on the first visit to the route. Without the feature (`trunk serve`, the
/// tests) the page is called directly: an unsplit wasm cannot resolve `#[lazy]`'s imports.
///
/// A page behind the frame (`gate::signed_in`) fetches nothing until the server has said who is signed
/// in: without a session the frame sends the operator to sign in, and a first visit costs only the
/// sign-in page. The frame (`gate::frame`) also brings the console's stylesheets (styles.rs) and shows
/// nothing before they apply.
macro_rules! lazy_page {
    ($route:ident, $view:ident, $page:path, $gate:path, $with:expr) => {
        struct $route(Option<Session>);

        #[cfg_attr(feature = "split", leptos::lazy)]
        fn $view() -> AnyView {
            use $page as Page;
            view! { <Page/> }.into_any()
        }

        impl LazyRoute for $route {
            fn data() -> Self {
                $route(use_context::<Session>())
            }

            async fn view(this: Self) -> AnyView {
                if let Some(instead) = $gate(this.0).await {
                    return instead;
                }
                #[cfg(feature = "split")]
                let view = $view();
                #[cfg(not(feature = "split"))]
                let view = async { $view() };
                let (view, ()) = futures::join!(view, $with);
                view
            }
        }
    };
}

/// Fetches the frame's modules and those of the page at `path` ahead of time: the sign-in page calls
/// it once the operator turns to the form, so the console shows as soon as the sign-in answers.
pub fn preload_console(path: &str) {
    #[cfg(feature = "split")]
    {
        use std::future::Future;
        use std::pin::Pin;

        // The page of `path`, as the routes of `App` match it.
        let section = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
        let page: Pin<Box<dyn Future<Output = ()>>> = match section {
            p if p.starts_with(paths::INBOX) => Box::pin(__preload_inbox_page()),
            p if p.starts_with(paths::VISITORS) => Box::pin(__preload_visitors_page()),
            p if p.starts_with(paths::SEGMENTS) => Box::pin(__preload_segments_page()),
            p if p.starts_with(paths::SETTINGS) => Box::pin(__preload_settings_page()),
            p if p.starts_with(&format!("{}/", paths::LEADS)) => Box::pin(__preload_lead_page()),
            _ => Box::pin(__preload_leads_page()),
        };
        leptos::task::spawn_local(async move {
            futures::join!(__preload_shell_page(), page);
        });
    }
    #[cfg(not(feature = "split"))]
    let _ = path;
}

/// What a lazy route waits for before it fetches its page.
mod gate {
    use leptos::prelude::*;

    use crate::components::shell::to_sign_in;
    use crate::session::Session;

    /// The sign-in page: nothing.
    pub async fn open(_: Option<Session>) -> Option<AnyView> {
        None
    }

    /// A page in the frame: a session (else an empty view while the frame sends to sign in).
    pub async fn signed_in(session: Option<Session>) -> Option<AnyView> {
        frame(session).await.map(|_| ().into_any())
    }

    /// The frame: a session, else straight to the sign-in page.
    pub async fn frame(session: Option<Session>) -> Option<AnyView> {
        match session?.me.await {
            Err(error) if error.is_unauthenticated() => Some(to_sign_in(&error)),
            _ => None,
        }
    }
}

lazy_page!(ShellRoute, shell_page, crate::components::shell::Shell, gate::frame, styles::console_styles());
lazy_page!(Login, login_page, crate::pages::login::LoginPage, gate::open, async {});
lazy_page!(Leads, leads_page, crate::pages::leads::LeadsPage, gate::signed_in, async {});
lazy_page!(Lead, lead_page, crate::pages::lead::LeadPage, gate::signed_in, async {});
lazy_page!(Inbox, inbox_page, crate::pages::inbox::InboxPage, gate::signed_in, async {});
lazy_page!(Visitors, visitors_page, crate::pages::visitors::VisitorsPage, gate::signed_in, async {});
lazy_page!(Segments, segments_page, crate::pages::segments::SegmentsPage, gate::signed_in, async {});
lazy_page!(Settings, settings_page, crate::pages::settings::SettingsArea, gate::signed_in, async {});
lazy_page!(SetPassword, set_password_page, crate::pages::set_password::SetPasswordPage, gate::open, async {});

/// What operators open now and then shares one wasm chunk: the import page, the Leads Database's
/// selection bar, the merge dialog and the bulk actions' dialog.
/// Every `#[lazy]` function is a split point, and each multiplies the chunks the pages share: a
/// merge dialog of its own cut the chunks of the card's pages into more, smaller ones (16 KB more
/// on their first loads). Behind one split point they cost the pages nothing.
pub enum Occasional {
    ImportPage,
    MergeDialog {
        kept: i64,
        other: Option<i64>,
        on_merged: Callback<leadcard_core::wire::LeadCard>,
        on_close: Callback<()>,
    },
    BulkDialog {
        selection: leadcard_core::bulk::BulkSelection,
        described: String,
        on_close: Callback<()>,
    },
    SelectionBar(crate::pages::leads_selection::SelectionBarArgs),
}

#[cfg_attr(feature = "split", leptos::lazy)]
fn occasional_view(what: Occasional) -> AnyView {
    match what {
        Occasional::ImportPage => view! { <crate::pages::leads_import::ImportPage/> }.into_any(),
        Occasional::MergeDialog { kept, other, on_merged, on_close } => {
            crate::components::merge_dialog::dialog_view(kept, other, on_merged, on_close)
        }
        Occasional::BulkDialog { selection, described, on_close } => {
            crate::components::bulk_dialog::dialog_view(selection, described, on_close)
        }
        Occasional::SelectionBar(args) => crate::pages::leads_selection::bar_view(args),
    }
}

/// The view of `what`; in the release build its chunk is fetched first.
pub async fn occasional(what: Occasional) -> AnyView {
    #[cfg(feature = "split")]
    let view = occasional_view(what).await;
    #[cfg(not(feature = "split"))]
    let view = occasional_view(what);
    view
}

/// `/leads/import`, behind the frame like the other pages, from the occasional chunk.
struct LeadsImport(Option<Session>);

impl LazyRoute for LeadsImport {
    fn data() -> Self {
        LeadsImport(use_context::<Session>())
    }

    async fn view(this: Self) -> AnyView {
        if let Some(instead) = gate::signed_in(this.0).await {
            return instead;
        }
        occasional(Occasional::ImportPage).await
    }
}
