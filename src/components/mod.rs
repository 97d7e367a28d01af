//! Widgets the pages place: the app shell, the lead card, the leads table, the filter builder, the
//! merge dialog, the message composer and thread entries, and small shared pieces. None of them
//! knows a page.

pub mod avatar;
pub mod bulk_dialog;
pub mod clock;
pub mod composer;
pub mod error_notice;
pub mod field_error;
pub mod filter_builder;
pub mod job_progress;
pub mod language_switch;
pub mod lead_card;
pub mod lead_table;
pub mod merge_dialog;
pub mod message;
pub mod not_found;
pub mod presence_badge;
pub mod shell;
pub mod tag_list;
