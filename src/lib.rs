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
use leptos_router::{NavigateOptions, path};

use crate::components::not_found::NotFound;
use crate::components::shell::Shell;
use crate::pages::{
    inbox::InboxPage, lead::LeadPage, leads::LeadsPage, login::LoginPage, segments::SegmentsPage,
    settings::SettingsPage, visitors::VisitorsPage,
};
use crate::session::Session;

/// The whole app: the session, the router, and the routes.
#[component]
pub fn App() -> impl IntoView {
    Session::provide();
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route
                    path=path!("/")
                    view=|| view! { <Redirect path=paths::LEADS options=NavigateOptions { replace: true, ..Default::default() }/> }
                />
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("/leads") view=LeadsPage/>
                    <Route path=path!("/leads/:id") view=LeadPage/>
                    // One route, so opening another conversation keeps the list as it is.
                    <Route path=path!("/inbox/:conversation?") view=InboxPage/>
                    <Route path=path!("/visitors") view=VisitorsPage/>
                    <Route path=path!("/segments") view=SegmentsPage/>
                    <Route path=path!("/settings") view=SettingsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
