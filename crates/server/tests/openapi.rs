//! The OpenAPI document against the gateway itself: every route the router declares is in the
//! document with its methods (and nothing else is), and every JSON answer of the API validates
//! against its schema: no field the document does not declare, every required field present,
//! every type as declared.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use common::{chain, get};
use serde_json::Value;
use std::collections::BTreeSet;

/// `(method, path)` of every `.route(...)` in the router's source.
fn router_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../src/lib.rs");
    let mut out = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_string();
        let body = chunk.split(".route(").next().unwrap();
        let body = body.split(".fallback(").next().unwrap();
        for (needle, method) in [("get(", "get"), ("post(", "post"), ("delete(", "delete")] {
            if body.contains(needle) {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn doc_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

/// Check `v` against `schema` (resolving `$ref` in `doc`); the flaws, with their JSON path.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, flaws: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return validate(doc, &doc["components"]["schemas"][name], v, at, flaws);
    }
    if v.is_null() {
        if schema["nullable"] != true {
            flaws.push(format!("{at}: null where the document does not allow it"));
        }
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            validate(doc, s, v, at, flaws);
        }
        return;
    }
    let ok = match schema["type"].as_str() {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_u64() || v.is_i64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some(other) => {
            flaws.push(format!("{at}: unknown schema type {other}"));
            true
        }
    };
    if !ok {
        flaws.push(format!("{at}: {v} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            flaws.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    if let (Some(obj), Some(props)) = (v.as_object(), schema["properties"].as_object()) {
        for (k, fv) in obj {
            match props.get(k) {
                Some(s) => validate(doc, s, fv, &format!("{at}.{k}"), flaws),
                None => flaws.push(format!("{at}.{k}: not in the document")),
            }
        }
        for req in schema["required"].as_array().into_iter().flatten() {
            let k = req.as_str().unwrap();
            if !obj.contains_key(k) {
                flaws.push(format!("{at}.{k}: required but missing"));
            }
        }
    }
    if let (Some(obj), None, Some(each)) = (
        v.as_object(),
        schema.get("properties"),
        schema.get("additionalProperties"),
    ) {
        for (k, fv) in obj {
            validate(doc, each, fv, &format!("{at}.{k}"), flaws);
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{i}]"), flaws);
        }
    }
}

/// The schema of the JSON answer `status` of `GET path` (a path template of the document).
fn response_schema<'a>(doc: &'a Value, path: &str, status: &str) -> &'a Value {
    let s =
        &doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"];
    assert!(
        !s.is_null(),
        "the document gives no JSON schema for {status} of GET {path}"
    );
    s
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_of_the_router() {
    let app = server::app(chain().catalog());
    let (s, _, body) = get(app, "/api/openapi.json", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let router = router_routes();
    assert!(
        router.len() >= 15,
        "the source parse found the routes: {router:?}"
    );
    let documented = doc_routes(&doc);
    let missing: Vec<_> = router.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&router).collect();
    assert!(
        missing.is_empty(),
        "routes the document does not describe: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented routes the router does not serve: {extra:?}"
    );
}

#[tokio::test]
async fn every_json_answer_matches_its_schema() {
    let c = chain();
    let plain = c.publish_titled(7, &[7; 500], "video/webm", "Plain", true);
    let film = common::film(4).map(|f| {
        c.publish_info(
            8,
            &f,
            cvp::ContentInfo {
                title: Some("Film".into()),
                media_type: "video/x-cvpm".into(),
                duration_ms: Some(4000),
                poster: Some(b"RIFF\0\0\0\0WEBPVP8 ".to_vec()),
                records: Vec::new(),
            },
            true,
        )
    });
    let app = server::app(c.catalog());
    let (_, _, body) = get(app.clone(), "/api/openapi.json", &[]).await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let mut checks = vec![
        ("/api/catalog".to_string(), "/api/catalog", "200"),
        (
            "/api/catalog?q=plain&page=1&per_page=5".to_string(),
            "/api/catalog",
            "200",
        ),
        (format!("/api/content/{plain}"), "/api/content/{id}", "200"),
        (
            format!("/api/content/{}", "0".repeat(64)),
            "/api/content/{id}",
            "404",
        ),
        ("/api/content/xyz".to_string(), "/api/content/{id}", "400"),
        (
            format!("/api/content/{plain}/poster"),
            "/api/content/{id}/poster",
            "404",
        ),
        ("/api/stats".to_string(), "/api/stats", "200"),
    ];
    match film {
        Some(id) => {
            checks.push((format!("/api/content/{id}"), "/api/content/{id}", "200"));
            checks.push((
                format!("/api/content/{id}/media"),
                "/api/content/{id}/media",
                "200",
            ));
            checks.push((
                format!("/api/content/{plain}/media"),
                "/api/content/{id}/media",
                "400",
            ));
        }
        None => println!("skipped: the film's manifest (no ffmpeg to encode one)"),
    }
    let mut flaws = Vec::new();
    for (uri, path, status) in &checks {
        let (s, h, body) = get(app.clone(), uri, &[]).await;
        assert_eq!(
            s.as_str(),
            *status,
            "GET {uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(h["content-type"], "application/json", "GET {uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        validate(
            &doc,
            response_schema(&doc, path, status),
            &v,
            uri,
            &mut flaws,
        );
    }
    assert!(
        flaws.is_empty(),
        "answers that do not match the document:\n{}",
        flaws.join("\n")
    );
}
