//! API tests: each starts the real server on port 0 with a fresh database (SQLite in a temporary
//! directory, or a new PostgreSQL database when `LEADCARD_TEST_POSTGRES_URL` is set).

mod accounts;
mod agreement;
mod bounces;
mod catalog;
mod demo;
mod erasure;
mod helpers;
mod hostile;
mod inbox;
mod leads;
mod live;
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
mod tags_notes;
mod tls;
mod tracking;
mod visitors;
mod web;
