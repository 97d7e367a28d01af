//! API tests: each starts the real server on port 0 with a fresh database (SQLite in a temporary
//! directory, or a new PostgreSQL database when `LEADCARD_TEST_POSTGRES_URL` is set).

mod accounts;
mod agreement;
mod avatar;
mod bounces;
mod catalog;
mod demo;
mod erasure;
mod export;
mod helpers;
mod hostile;
mod import;
mod inbox;
mod intake;
mod leads;
mod live;
mod live_list;
mod location;
mod mail;
mod openapi;
mod operations;
mod pins;
mod properties;
mod race;
mod security;
mod segment_conditions;
mod segments;
mod session;
mod shutdown;
mod smtp;
mod sort;
mod tags_notes;
mod tls;
mod tracking;
mod visitors;
mod web;
