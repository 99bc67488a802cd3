//! The OpenAPI 3.1 document, generated from the router's own route list.

use serde_json::{Map, Value, json};

use super::api::{Body, RouteDoc};

pub fn document(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(r.method.to_string(), operation(r));
        }
    }
    // The document itself is a route too.
    paths.insert(
        "/openapi.json".into(),
        json!({ "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": { "200": { "description": "OpenAPI 3.1",
                "content": { "application/json": { "schema": { "type": "object" } } } } }
        }}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "termwatch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Partnership-term changes, events, clients and deliveries. \
                Send `Authorization: Bearer TOKEN` (`termwatch token create`)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "string" } }
                },
                "Page": {
                    "type": "object",
                    "required": ["items", "next_cursor"],
                    "properties": {
                        "items": { "type": "array", "items": { "type": "object" } },
                        "next_cursor": { "type": ["string", "null"] }
                    }
                }
            }
        }
    })
}

fn operation(r: &RouteDoc) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    params.extend(r.query.iter().map(|name| {
        let schema = match *name {
            "limit" => {
                json!({ "type": "integer", "minimum": 1, "maximum": super::page::MAX_LIMIT })
            }
            "disputed" => json!({ "type": "boolean" }),
            // An empty value is refused (400), so the document says so.
            _ => json!({ "type": "string", "minLength": 1 }),
        };
        json!({ "name": name, "in": "query", "required": false, "schema": schema })
    }));
    let ok = match r.body {
        Body::List => json_content(json!({ "$ref": "#/components/schemas/Page" })),
        Body::Object | Body::JsonIn => json_content(json!({ "type": "object" })),
        Body::Text => json!({ "text/plain": { "schema": { "type": "string" } } }),
    };
    let error = json!({ "description": "what is wrong and how to fix it",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut responses = Map::new();
    responses.insert("200".into(), json!({ "description": "OK", "content": ok }));
    for code in ["400", "404", "500"] {
        responses.insert(code.into(), error.clone());
    }
    let mut op = json!({
        "operationId": operation_id(r),
        "summary": r.summary,
        "parameters": params,
    });
    if r.path == "/readyz" {
        responses.insert(
            "503".into(),
            json!({ "description": "not ready",
            "content": { "application/json": { "schema": { "type": "object" } } } }),
        );
    }
    if r.path == "/metrics" {
        responses.insert("403".into(), error.clone());
    }
    if r.scope.is_some() {
        responses.insert("401".into(), error.clone());
        responses.insert("403".into(), error.clone());
        op["security"] = json!([{ "bearer": [] }]);
    }
    if r.method == "get" {
        responses.insert(
            "304".into(),
            json!({ "description": "not modified (If-None-Match)" }),
        );
    }
    if r.body == Body::JsonIn {
        op["requestBody"] = json!({ "required": true,
            "content": { "application/json": { "schema": { "type": "object" } } } });
        responses.insert("409".into(), error.clone());
        responses.insert("413".into(), json!({ "description": "body too large" }));
        responses.insert("422".into(), error);
    }
    op["responses"] = Value::Object(responses);
    op
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// `get /api/v1/events/{id}` -> `get_api_v1_events_id`.
fn operation_id(r: &RouteDoc) -> String {
    let path: String = r
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = path
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{path}", r.method)
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}
