//! leadcard's server: the API under `/api/v1`, the store (SQLite by default, or PostgreSQL),
//! and the built app, on one port.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod avatar;
pub mod bulk;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod export;
pub mod extract;
pub mod geoip;
pub mod import;
pub mod ingest;
pub mod jobs;
pub mod language;
pub mod layers;
pub mod live;
pub mod mail;
pub mod routes;
pub mod security_headers;
pub mod segments;
pub mod send;
pub mod site;
pub mod store;
pub mod tracking;
pub mod web;

pub use app::{AppState, Application, StartError};
pub use clock::Clock;
pub use config::Config;
