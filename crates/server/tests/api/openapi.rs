//! The OpenAPI document is served and lists every route.

use crate::helpers::spawn_app;
use serde_json::json;

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
        ("/api/v1/leads", "post"),
        ("/api/v1/leads/export", "get"),
        ("/api/v1/leads/count", "get"),
        ("/api/v1/leads/{id}", "get"),
        ("/api/v1/leads/{id}/avatar", "get"),
        ("/api/v1/properties", "get"),
        ("/api/v1/tags", "get"),
        ("/api/v1/leads/{id}/properties", "patch"),
        ("/api/v1/leads/{id}/tags", "post"),
        ("/api/v1/leads/{id}/tags/{tag}", "delete"),
        ("/api/v1/leads/{id}/merge", "post"),
        ("/api/v1/leads/bulk", "post"),
        ("/api/v1/leads/bulk/count", "post"),
        ("/api/v1/leads/{id}/notes", "get"),
        ("/api/v1/leads/{id}/notes", "post"),
        ("/api/v1/leads/{id}/notes/{note_id}", "delete"),
        ("/api/v1/leads/{id}/notes/{note_id}", "patch"),
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
        ("/c/{token}", "post"),
        ("/api/v1/operators", "get"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/conversations/{id}/assign", "post"),
        ("/api/v1/conversations/{id}/close", "post"),
        ("/api/v1/conversations/{id}/reopen", "post"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/leads/{id}/conversations", "get"),
        ("/api/v1/leads/{id}/channels", "get"),
        ("/api/v1/leads/{id}/messages", "post"),
        ("/api/v1/track/messages", "get"),
        ("/api/v1/track/messages", "post"),
        ("/api/v1/track/messages/seen", "post"),
        ("/api/v1/track/stream", "get"),
        ("/api/v1/webhooks/inbound-email", "post"),
        ("/api/v1/operator-accounts", "get"),
        ("/api/v1/operator-accounts", "post"),
        ("/api/v1/operator-accounts/{id}", "patch"),
        ("/api/v1/operator-accounts/{id}/password-link", "post"),
        ("/api/v1/password-links/use", "post"),
        ("/api/v1/account", "patch"),
        ("/api/v1/account/password", "put"),
        ("/api/v1/account/sessions", "get"),
        ("/api/v1/account/sessions/{id}", "delete"),
        ("/api/v1/imports", "post"),
        ("/api/v1/imports/{id}/run", "post"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{id}", "get"),
        ("/api/v1/jobs/{id}/cancel", "post"),
        ("/api/v1/jobs/{id}/problems", "get"),
        ("/api/v1/jobs/{id}/report.csv", "get"),
    ];
    for (path, method) in expected {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let documented: usize =
        doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len(), "a route is documented but not expected here: add it above");
    for schema in [
        "ErrorBody",
        "Job",
        "JobPage",
        "JobProblemPage",
        "ImportUpload",
        "ImportRun",
        "Target",
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
        "OperatorRef",
        "Conversation",
        "ConversationPage",
        "Thread",
        "Message",
        "MessagePage",
        "NewMessage",
        "SendMessage",
        "Sent",
        "Assign",
        "Channels",
        "SystemEntry",
        "WidgetMessage",
        "WidgetMessages",
        "WidgetSend",
        "WidgetSeen",
        "InboundEmail",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["session"]["in"], "cookie");
    assert_eq!(doc["components"]["securitySchemes"]["project_key"]["name"], "X-Leadcard-Key");
    let query = &doc["components"]["securitySchemes"]["project_key_query"];
    assert_eq!((&query["in"], &query["name"]), (&json!("query"), &json!("key")));
    // Every widget route takes the key either way, and no body carries it.
    for (path, item) in doc["paths"].as_object().unwrap().iter().filter(|(p, _)| p.starts_with("/api/v1/track/")) {
        for (method, op) in item.as_object().unwrap() {
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            assert_eq!(schemes, ["project_key", "project_key_query"], "{method} {path}");
            let params = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
            assert!(params.iter().all(|p| p["name"] != "key"), "{method} {path}: the key is a security scheme");
        }
    }
    for schema in ["TrackEvents", "TrackHeartbeat", "TrackIdentify", "WidgetSend", "WidgetSeen"] {
        assert!(doc["components"]["schemas"][schema]["properties"].get("key").is_none(), "{schema} carries no key");
    }
}
