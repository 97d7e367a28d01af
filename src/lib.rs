//! leadcard's browser app: the operators' console (Leptos CSR), its routes and its pages.

pub mod api;
pub mod components;
pub mod drafts;
pub mod json;
pub mod live;
pub mod pages;
pub mod paths;
pub mod pending;
pub mod session;
pub mod storage;
pub mod time;
pub mod timing;

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, NavigateOptions, path};

use crate::components::not_found::NotFound;
use crate::components::shell::Shell;
use crate::session::Session;

/// The whole app: the session, the router, and the routes.
#[component]
pub fn App() -> impl IntoView {
    Session::provide();
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view={Lazy::<Login>::new()}/>
                <Route
                    path=path!("/")
                    view=|| view! { <Redirect path=paths::LEADS options=NavigateOptions { replace: true, ..Default::default() }/> }
                />
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("/leads") view={Lazy::<Leads>::new()}/>
                    <Route path=path!("/leads/:id") view={Lazy::<Lead>::new()}/>
                    // One route, so opening another conversation keeps the list as it is.
                    <Route path=path!("/inbox/:conversation?") view={Lazy::<Inbox>::new()}/>
                    <Route path=path!("/visitors") view={Lazy::<Visitors>::new()}/>
                    <Route path=path!("/segments") view={Lazy::<Segments>::new()}/>
                    <Route path=path!("/settings") view={Lazy::<Settings>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A route whose page is its own wasm chunk in the release build: with the `split` feature the
/// page's code sits behind a `#[lazy]` function, which `cargo xtask` splits off (wasm_split) and
/// the browser fetches on the first visit to the route. Without the feature (`trunk serve`, the
/// tests) the page is called directly: an unsplit wasm cannot resolve `#[lazy]`'s imports.
macro_rules! lazy_page {
    ($route:ident, $view:ident, $page:path) => {
        struct $route;

        #[cfg_attr(feature = "split", leptos::lazy)]
        fn $view() -> AnyView {
            use $page as Page;
            view! { <Page/> }.into_any()
        }

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_: Self) -> AnyView {
                #[cfg(feature = "split")]
                let view = $view().await;
                #[cfg(not(feature = "split"))]
                let view = $view();
                view
            }
        }
    };
}

lazy_page!(Login, login_page, crate::pages::login::LoginPage);
lazy_page!(Leads, leads_page, crate::pages::leads::LeadsPage);
lazy_page!(Lead, lead_page, crate::pages::lead::LeadPage);
lazy_page!(Inbox, inbox_page, crate::pages::inbox::InboxPage);
lazy_page!(Visitors, visitors_page, crate::pages::visitors::VisitorsPage);
lazy_page!(Segments, segments_page, crate::pages::segments::SegmentsPage);
lazy_page!(Settings, settings_page, crate::pages::settings::SettingsPage);
