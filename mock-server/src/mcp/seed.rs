//! The seed report's server, as far as its text allows: a PHP (Symfony `mcp-bundle`) gateway
//! with 24 tools "across multiple providers", prompts, resources, completions and logging.
//!
//! The report gives the shapes, not the contents; the tools here are invented but realistic, and
//! each has its own schema. Calls answer deterministically, with `structuredContent` that
//! conforms to the tool's `outputSchema` (MCP 2025-06-18, Server › Tools › "Output Schema":
//! servers MUST provide structured results that conform to it).

use serde_json::{json, Map, Value};

/// `(provider, tool)`: the provider is what a dotted name puts in front.
pub(crate) fn tools() -> Vec<(&'static str, Value)> {
    let text = |d: &str| json!({"type": "string", "description": d});
    let id = |d: &str| json!({"type": "string", "pattern": "^[a-z]+_[0-9a-z]+$", "description": d});
    vec![
        (
            "greeter",
            json!({
                "name": "hello",
                "title": "Say hello",
                "description": "Greets someone by name.",
                "inputSchema": {"type": "object", "properties": {"name": text("Who to greet")}, "required": ["name"], "additionalProperties": false},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "weather",
            json!({
                "name": "get_current_weather",
                "title": "Current weather",
                "description": "Current conditions for a city, from the weather provider.",
                "inputSchema": {"type": "object", "properties": {
                    "city": {"type": "string", "minLength": 1, "description": "City name, optionally with country code (\"Lyon,FR\")"},
                    "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"}
                }, "required": ["city"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "city": {"type": "string"}, "temperature": {"type": "number"},
                    "units": {"type": "string", "enum": ["metric", "imperial"]},
                    "conditions": {"type": "string"}, "humidity": {"type": "integer", "minimum": 0, "maximum": 100}
                }, "required": ["city", "temperature", "units", "conditions"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": true}
            }),
        ),
        (
            "weather",
            json!({
                "name": "get_forecast",
                "title": "Weather forecast",
                "description": "Daily forecast for up to seven days.",
                "inputSchema": {"type": "object", "properties": {
                    "city": {"type": "string", "minLength": 1},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 3}
                }, "required": ["city"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "array", "items": {"type": "object", "properties": {
                        "date": {"type": "string", "format": "date"}, "min": {"type": "number"}, "max": {"type": "number"}, "summary": {"type": "string"}
                    }, "required": ["date", "min", "max", "summary"]}}
                }, "required": ["city", "days"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": true}
            }),
        ),
        (
            "weather",
            json!({
                "name": "get_air_quality",
                "title": "Air quality index",
                "description": "Air quality index at a coordinate.",
                "inputSchema": {"type": "object", "properties": {
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180}
                }, "required": ["latitude", "longitude"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "aqi": {"type": "integer", "minimum": 0}, "dominant_pollutant": {"type": "string", "enum": ["pm25", "pm10", "o3", "no2"]}
                }, "required": ["aqi", "dominant_pollutant"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": true}
            }),
        ),
        (
            "calendar",
            json!({
                "name": "list_events",
                "title": "List calendar events",
                "description": "Events between two dates in one of the user's calendars.",
                "inputSchema": {"type": "object", "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                    "calendar_id": {"type": "string", "default": "primary"}
                }, "required": ["from", "to"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "events": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "title": {"type": "string"}, "start": {"type": "string", "format": "date-time"}
                    }, "required": ["id", "title", "start"]}}
                }, "required": ["events"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "calendar",
            json!({
                "name": "create_event",
                "title": "Create a calendar event",
                "description": "Creates an event and invites the attendees.",
                "inputSchema": {"type": "object", "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
                    "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "uniqueItems": true},
                    "location": {"type": "string"}
                }, "required": ["title", "start", "end"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"id": {"type": "string"}, "html_link": {"type": "string", "format": "uri"}}, "required": ["id"]},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}
            }),
        ),
        (
            "calendar",
            json!({
                "name": "delete_event",
                "title": "Delete a calendar event",
                "description": "Deletes an event; attendees are notified.",
                "inputSchema": {"type": "object", "properties": {"event_id": id("The event's id, e.g. evt_42"), "notify": {"type": "boolean", "default": true}}, "required": ["event_id"], "additionalProperties": false},
                "annotations": {"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": true}
            }),
        ),
        (
            "crm",
            json!({
                "name": "search_contacts",
                "title": "Search CRM contacts",
                "description": "Full-text search over contacts by name, e-mail or company.",
                "inputSchema": {"type": "object", "properties": {
                    "query": {"type": "string", "minLength": 2}, "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
                }, "required": ["query"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "contacts": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}
                    }, "required": ["id", "name"]}},
                    "total": {"type": "integer"}
                }, "required": ["contacts", "total"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "crm",
            json!({
                "name": "get_contact",
                "title": "Get a CRM contact",
                "description": "One contact with its company and recent activity.",
                "inputSchema": {"type": "object", "properties": {"contact_id": id("e.g. con_17"), "include_activity": {"type": "boolean", "default": false}}, "required": ["contact_id"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "company": {"type": ["string", "null"]},
                    "activity": {"type": "array", "items": {"type": "string"}}
                }, "required": ["id", "name"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "crm",
            json!({
                "name": "update_contact",
                "title": "Update a CRM contact",
                "description": "Changes some fields of a contact; fields left out are kept.",
                "inputSchema": {"type": "object", "properties": {
                    "contact_id": id("e.g. con_17"),
                    "fields": {"type": "object", "properties": {
                        "email": {"type": "string", "format": "email"}, "phone": {"type": "string"}, "company": {"type": "string"}
                    }, "additionalProperties": false, "minProperties": 1}
                }, "required": ["contact_id", "fields"], "additionalProperties": false},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
            }),
        ),
        (
            "billing",
            json!({
                "name": "list_invoices",
                "title": "List invoices",
                "description": "Invoices by status, newest first.",
                "inputSchema": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["draft", "open", "paid", "void", "uncollectible"]},
                    "customer_id": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
                }, "required": ["status"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "invoices": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "amount_due": {"type": "integer"}, "currency": {"type": "string", "minLength": 3, "maxLength": 3}
                    }, "required": ["id", "amount_due", "currency"]}}
                }, "required": ["invoices"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "billing",
            json!({
                "name": "get_invoice",
                "title": "Get an invoice",
                "description": "One invoice with its lines.",
                "inputSchema": {"type": "object", "properties": {"invoice_id": id("e.g. inv_2024")}, "required": ["invoice_id"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string"}, "total": {"type": "integer"},
                    "lines": {"type": "array", "items": {"type": "object", "properties": {"description": {"type": "string"}, "amount": {"type": "integer"}}, "required": ["description", "amount"]}}
                }, "required": ["id", "status", "total", "lines"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "billing",
            json!({
                "name": "refund_payment",
                "title": "Refund a payment",
                "description": "Refunds all or part of a payment. Cannot be undone.",
                "inputSchema": {"type": "object", "properties": {
                    "payment_id": id("e.g. pay_9"), "amount_cents": {"type": "integer", "minimum": 1},
                    "reason": {"type": "string", "enum": ["duplicate", "fraudulent", "requested_by_customer"]}
                }, "required": ["payment_id", "reason"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"refund_id": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]}}, "required": ["refund_id", "status"]},
                "annotations": {"readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true}
            }),
        ),
        (
            "docs",
            json!({
                "name": "search_documents",
                "title": "Search documents",
                "description": "Searches the knowledge base, optionally within one space.",
                "inputSchema": {"type": "object", "properties": {"query": {"type": "string", "minLength": 1}, "space": {"type": "string"}}, "required": ["query"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "hits": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "score": {"type": "number"}}, "required": ["id", "title", "score"]}}
                }, "required": ["hits"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "docs",
            json!({
                "name": "get_document",
                "title": "Read a document",
                "description": "A document's body in the format asked for.",
                "inputSchema": {"type": "object", "properties": {"document_id": id("e.g. doc_7"), "format": {"type": "string", "enum": ["markdown", "html", "text"], "default": "markdown"}}, "required": ["document_id"], "additionalProperties": false},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "docs",
            json!({
                "name": "create_document",
                "title": "Create a document",
                "description": "Creates a page in a space.",
                "inputSchema": {"type": "object", "properties": {"space": {"type": "string"}, "title": {"type": "string", "minLength": 1}, "body": {"type": "string"}, "parent_id": {"type": "string"}}, "required": ["space", "title", "body"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string", "format": "uri"}}, "required": ["id", "url"]},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
            }),
        ),
        (
            "tracker",
            json!({
                "name": "list_issues",
                "title": "List issues",
                "description": "Issues of a project by state and labels.",
                "inputSchema": {"type": "object", "properties": {
                    "project": {"type": "string"}, "state": {"type": "string", "enum": ["open", "closed", "all"], "default": "open"},
                    "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 10}
                }, "required": ["project"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {
                    "issues": {"type": "array", "items": {"type": "object", "properties": {"number": {"type": "integer"}, "title": {"type": "string"}, "state": {"type": "string"}}, "required": ["number", "title", "state"]}}
                }, "required": ["issues"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "tracker",
            json!({
                "name": "create_issue",
                "title": "Create an issue",
                "description": "Files an issue in a project.",
                "inputSchema": {"type": "object", "properties": {
                    "project": {"type": "string"}, "title": {"type": "string", "minLength": 1}, "body": {"type": "string"},
                    "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"], "default": "medium"}
                }, "required": ["project", "title"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"number": {"type": "integer"}, "url": {"type": "string", "format": "uri"}}, "required": ["number", "url"]},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
            }),
        ),
        (
            "tracker",
            json!({
                "name": "add_comment",
                "title": "Comment on an issue",
                "description": "Adds a comment to an issue.",
                "inputSchema": {"type": "object", "properties": {"project": {"type": "string"}, "number": {"type": "integer", "minimum": 1}, "body": {"type": "string", "minLength": 1}}, "required": ["project", "number", "body"], "additionalProperties": false},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
            }),
        ),
        (
            "maps",
            json!({
                "name": "geocode",
                "title": "Geocode an address",
                "description": "Coordinates for a postal address.",
                "inputSchema": {"type": "object", "properties": {"address": {"type": "string", "minLength": 3}, "country": {"type": "string", "minLength": 2, "maxLength": 2}}, "required": ["address"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}, "formatted": {"type": "string"}}, "required": ["latitude", "longitude", "formatted"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": true}
            }),
        ),
        (
            "maps",
            json!({
                "name": "route",
                "title": "Plan a route",
                "description": "Distance and duration between two places.",
                "inputSchema": {"type": "object", "properties": {
                    "origin": {"type": "string"}, "destination": {"type": "string"},
                    "mode": {"type": "string", "enum": ["driving", "walking", "cycling", "transit"], "default": "driving"}
                }, "required": ["origin", "destination"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"distance_m": {"type": "integer"}, "duration_s": {"type": "integer"}}, "required": ["distance_m", "duration_s"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": true}
            }),
        ),
        (
            "mail",
            json!({
                "name": "send_email",
                "title": "Send an e-mail",
                "description": "Sends an e-mail from the user's mailbox.",
                "inputSchema": {"type": "object", "properties": {
                    "to": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
                    "cc": {"type": "array", "items": {"type": "string", "format": "email"}},
                    "subject": {"type": "string", "maxLength": 255}, "body": {"type": "string"}
                }, "required": ["to", "subject", "body"], "additionalProperties": false},
                "outputSchema": {"type": "object", "properties": {"message_id": {"type": "string"}}, "required": ["message_id"]},
                "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}
            }),
        ),
        (
            "mail",
            json!({
                "name": "list_mailboxes",
                "title": "List mailboxes",
                "description": "The user's mailboxes and their unread counts.",
                "inputSchema": {"type": "object", "properties": {}},
                "outputSchema": {"type": "object", "properties": {
                    "mailboxes": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "unread": {"type": "integer"}}, "required": ["name", "unread"]}}
                }, "required": ["mailboxes"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
        (
            "system",
            json!({
                "name": "get_status",
                "title": "Gateway status",
                "description": "Health of the gateway and of each provider behind it.",
                "inputSchema": {"type": "object", "properties": {}},
                "outputSchema": {"type": "object", "properties": {
                    "healthy": {"type": "boolean"}, "providers": {"type": "object", "additionalProperties": {"type": "string", "enum": ["up", "degraded", "down"]}}
                }, "required": ["healthy", "providers"]},
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
        ),
    ]
}

/// A 1×1 SVG as a `data:` URI, so that a client fetching icons never leaves the machine (MCP
/// 2025-11-25, Basic › "Icons": `src` may be a `data:` URI).
const ICON: &str = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiPjxyZWN0IHdpZHRoPSIxIiBoZWlnaHQ9IjEiIGZpbGw9IiMzMzY2OTkiLz48L3N2Zz4=";

/// The report: `serverInfo: {name, version, description, icons}`. `description` and `icons`
/// were added to `Implementation` in 2025-11-25; the reported server sent them while negotiating
/// 2025-06-18, and so does this profile (clients ignore members they do not know).
pub(crate) fn server_info() -> Value {
    json!({
        "name": "seed-gateway",
        "title": "Seed MCP gateway",
        "version": "0.9.0",
        "description": "An MCP gateway in front of weather, calendar, CRM, billing, docs, tracker, maps and mail providers.",
        "icons": [{"src": ICON, "mimeType": "image/svg+xml", "sizes": ["any"]}]
    })
}

/// The report: `capabilities: {logging, completions, prompts.listChanged,
/// resources.listChanged, tools.listChanged}`.
pub(crate) fn capabilities() -> Value {
    json!({
        "logging": {},
        "completions": {},
        "prompts": {"listChanged": true},
        "resources": {"listChanged": true},
        "tools": {"listChanged": true}
    })
}

pub(crate) fn prompts() -> Value {
    json!([
        {
            "name": "summarize_invoice",
            "title": "Summarize an invoice",
            "description": "Explains an invoice's lines and status in plain words.",
            "arguments": [{"name": "invoice_id", "description": "e.g. inv_2024", "required": true}]
        },
        {
            "name": "draft_reply",
            "title": "Draft a reply to a contact",
            "description": "Drafts an e-mail reply to a CRM contact.",
            "arguments": [
                {"name": "contact_id", "required": true},
                {"name": "tone", "description": "formal, friendly or brief", "required": false}
            ]
        }
    ])
}

pub(crate) fn get_prompt(name: &str, arguments: &Map<String, Value>) -> Result<Value, String> {
    let arg = |key: &str| arguments.get(key).and_then(Value::as_str);
    let text = match name {
        "summarize_invoice" => {
            let id = arg("invoice_id").ok_or("argument invoice_id is required")?;
            format!("Summarize invoice {id} for a customer: its lines, total and status.")
        }
        "draft_reply" => {
            let id = arg("contact_id").ok_or("argument contact_id is required")?;
            let tone = arg("tone").unwrap_or("friendly");
            format!("Draft a {tone} reply to contact {id}'s last message.")
        }
        _ => return Err(format!("Unknown prompt: {name}")),
    };
    Ok(json!({
        "description": name,
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}]
    }))
}

pub(crate) fn resources() -> Value {
    json!([
        {"uri": "docs://handbook/onboarding", "name": "onboarding", "title": "Onboarding handbook", "mimeType": "text/markdown"},
        {"uri": "status://gateway", "name": "gateway-status", "title": "Gateway status", "mimeType": "application/json"}
    ])
}

pub(crate) fn resource_templates() -> Value {
    json!([
        {"uriTemplate": "crm://contacts/{contact_id}", "name": "contact", "title": "A CRM contact", "mimeType": "application/json"}
    ])
}

pub(crate) fn read_resource(uri: &str) -> Option<Value> {
    let (mime, text) = match uri {
        "docs://handbook/onboarding" => ("text/markdown", "# Onboarding\n\nWelcome.".to_owned()),
        "status://gateway" => ("application/json", r#"{"healthy":true}"#.to_owned()),
        _ => {
            let id = uri.strip_prefix("crm://contacts/")?;
            (
                "application/json",
                json!({"id": id, "name": "Ada Lovelace"}).to_string(),
            )
        }
    };
    Some(json!({"contents": [{"uri": uri, "mimeType": mime, "text": text}]}))
}

/// `completion/complete` (Server › Utilities › "Completion"): values for a prompt argument or a
/// template variable, filtered by the prefix typed so far.
pub(crate) fn complete(params: &Map<String, Value>) -> Result<Value, String> {
    let argument = params
        .get("argument")
        .and_then(Value::as_object)
        .ok_or("argument must be an object")?;
    let name = argument.get("name").and_then(Value::as_str).unwrap_or("");
    let prefix = argument.get("value").and_then(Value::as_str).unwrap_or("");
    let candidates: &[&str] = match name {
        "tone" => &["brief", "formal", "friendly"],
        "invoice_id" => &["inv_2023", "inv_2024", "inv_2025"],
        "contact_id" => &["con_17", "con_42"],
        _ => &[],
    };
    let values: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|c| c.starts_with(prefix))
        .collect();
    Ok(json!({"completion": {"values": values, "total": values.len(), "hasMore": false}}))
}

/// A value that conforms to `schema`, built from its required members: what the generic seed
/// tools return as `structuredContent`.
pub(crate) fn sample(schema: &Value) -> Value {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds.first().and_then(Value::as_str),
        Some(Value::String(kind)) => Some(kind.as_str()),
        _ => None,
    };
    match kind {
        Some("object") => {
            let mut out = Map::new();
            let required = schema.get("required").and_then(Value::as_array);
            if let (Some(props), Some(required)) = (
                schema.get("properties").and_then(Value::as_object),
                required,
            ) {
                for key in required.iter().filter_map(Value::as_str) {
                    if let Some(prop) = props.get(key) {
                        out.insert(key.to_owned(), sample(prop));
                    }
                }
            }
            Value::Object(out)
        }
        Some("array") => json!([]),
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date") => json!("2026-01-01"),
            Some("date-time") => json!("2026-01-01T09:00:00Z"),
            Some("uri") => json!("https://seed.example/item/1"),
            Some("email") => json!("someone@seed.example"),
            _ => json!("sample"),
        },
        Some("integer") => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(0)),
        Some("number") => json!(0.0),
        Some("boolean") => json!(true),
        _ => Value::Null,
    }
}
