//! The OpenAPI document is served and lists every route.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("/api/v1/health", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/session", "post"),
        ("/api/v1/session", "delete"),
        ("/api/v1/me", "get"),
        ("/api/v1/leads", "get"),
        ("/api/v1/leads/{id}", "get"),
        ("/api/v1/properties", "get"),
        ("/api/v1/tags", "get"),
        ("/api/v1/leads/{id}/properties", "patch"),
        ("/api/v1/leads/{id}/tags", "post"),
        ("/api/v1/leads/{id}/tags/{tag}", "delete"),
        ("/api/v1/leads/{id}/notes", "get"),
        ("/api/v1/leads/{id}/notes", "post"),
        ("/api/v1/leads/{id}/notes/{note_id}", "delete"),
        ("/api/v1/pins", "get"),
        ("/api/v1/pins", "put"),
        ("/api/v1/stream", "get"),
        ("/api/v1/segments", "get"),
        ("/api/v1/segments", "post"),
        ("/api/v1/segments/count", "post"),
        ("/api/v1/segments/{id}", "get"),
        ("/api/v1/segments/{id}", "put"),
        ("/api/v1/segments/{id}", "delete"),
        ("/api/v1/leads/{id}/segments", "get"),
        ("/api/v1/leads/{id}/facts", "get"),
        ("/api/v1/leads/{id}/segment-history", "get"),
        ("/api/v1/track/events", "post"),
        ("/api/v1/track/heartbeat", "post"),
        ("/api/v1/track/identify", "post"),
        ("/api/v1/visitors", "get"),
        ("/api/v1/project", "get"),
        ("/api/v1/leads/{id}/events", "get"),
        ("/api/v1/leads/{id}/events", "post"),
        ("/api/v1/leads/{id}/event-groups", "get"),
        ("/api/v1/leads/{id}/session-pages", "get"),
        ("/api/v1/leads/{id}", "delete"),
        ("/api/v1/leads/{id}/unsubscribe", "post"),
        ("/api/v1/leads/{id}/confirmation", "post"),
        ("/api/v1/leads/{id}/hide", "post"),
        ("/api/v1/settings/email", "get"),
        ("/api/v1/settings/email", "put"),
        ("/api/v1/campaigns", "post"),
        ("/api/v1/outbox", "get"),
        ("/api/v1/webhooks/email", "post"),
        ("/u/{token}", "get"),
        ("/u/{token}", "post"),
        ("/c/{token}", "get"),
    ];
    for (path, method) in expected {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let documented: usize =
        doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len(), "a route is documented but not expected here: add it above");
    for schema in [
        "ErrorBody",
        "LeadPage",
        "LeadCard",
        "Filter",
        "SignIn",
        "Operator",
        "PatchProperties",
        "Operation",
        "Conflict",
        "Pins",
        "NewTag",
        "NewNote",
        "Note",
        "Segment",
        "NewSegment",
        "CountRequest",
        "SegmentCount",
        "SegmentRef",
        "SegmentHistoryEntry",
        "LeadFacts",
        "Condition",
        "TrackEvents",
        "TrackedEvent",
        "TrackHeartbeat",
        "TrackIdentify",
        "TrackAccepted",
        "VisitorList",
        "Visitor",
        "EventPage",
        "LeadEvent",
        "EventGroup",
        "AddEvent",
        "SessionPages",
        "ProjectKeys",
        "Subscription",
        "EmailActions",
        "Availability",
        "EmailSettingsBody",
        "NewCampaign",
        "CampaignQueued",
        "OutboxPage",
        "OutboxMail",
        "BounceReport",
        "BounceApplied",
        "RemoveLead",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["session"]["in"], "cookie");
    assert_eq!(doc["components"]["securitySchemes"]["project_key"]["name"], "X-Leadcard-Key");
}
