//! leadcard's pure rules, shared by the app (compiled to wasm) and the server (native): no IO.

pub mod account;
pub mod bulk;
#[cfg(test)]
mod check_texts;
pub mod email;
pub mod event;
pub mod export;
pub mod field;
pub mod filter;
pub mod import;
pub mod inbox;
pub mod intake;
pub mod job;
pub mod lead_sort;
pub mod live;
pub mod locale;
pub mod location;
pub mod mail;
pub mod merge;
pub mod operation;
pub mod pin;
pub mod presence;
pub mod property;
pub mod redirect;
pub mod segment;
pub mod subscription;
pub mod tag;
pub mod text;
pub mod tracking;
pub mod wire;

pub use email::{EmailAddress, EmailError, normalize_email};
pub use field::FieldError;
pub use filter::{
    Condition, EventCount, EventOp, EventTest, Filter, FilterError, Match, PropertyOp, PropertyTest, ValidCondition,
    ValidFilter,
};
pub use live::{LiveEvent, LiveMessage};
pub use mail::{Bounce, BounceCause, EmailActions, MenuRefusal};
pub use operation::{Operation, OperationError};
pub use presence::Presence;
pub use property::{PropertyError, PropertyName, PropertyType, PropertyValue};
pub use segment::{
    CheckedSegment, CountRequest, EventFacts, LeadFacts, NewSegment, Segment, SegmentCount, SegmentError,
    SegmentHistoryEntry, SegmentRef, depending_on, matching_segments, referring_to,
};
pub use subscription::{
    AddressState, BounceKind, EmailSettings, MailKind, Refusal, StatusEvent, SubscriptionStatus, TransitionError,
};
