//! The OpenAPI 3 description of the JSON API, served at `/api/openapi.json`.

use serde_json::{json, Value};

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": "content id (the header transaction's txid, 64 hex)", "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } })
}

fn errors() -> Value {
    json!({
        "400": { "description": "malformed id or request", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "404": { "description": "unknown content", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

fn file_params() -> Value {
    json!([
        id_param(),
        { "name": "Range", "in": "header", "required": false, "schema": { "type": "string", "example": "bytes=0-1023" } },
        { "name": "If-None-Match", "in": "header", "required": false, "schema": { "type": "string" } },
        { "name": "If-Range", "in": "header", "required": false, "schema": { "type": "string" } }
    ])
}

/// The validators and caching of a file: complete content is immutable; content still arriving
/// is never stored.
fn validators() -> Value {
    json!({
        "ETag": { "description": "strong, for complete content only: the content id, the length and the variant", "schema": { "type": "string" } },
        "Cache-Control": { "description": "`public, max-age=31536000, immutable` for complete content, `no-store` otherwise", "schema": { "type": "string" } }
    })
}

fn cached(mut responses: Value) -> Value {
    responses["206"] =
        json!({ "description": "one byte range of it (HTTP Range)", "headers": validators() });
    responses["304"] = json!({ "description": "If-None-Match names the current ETag" });
    responses["416"] = json!({ "description": "range not satisfiable" });
    responses
}

/// The document.
pub fn document() -> Value {
    let mut file_responses = cached(errors());
    file_responses["200"] = json!({ "description": "the verified file, audio or video only, with a type from a fixed table (never the one declared on chain); video/x-cvpm is rewrapped to video/webm", "headers": validators(), "content": { "video/webm": {}, "video/mp4": {}, "audio/ogg": {}, "audio/mpeg": {} } });
    file_responses["303"] = json!({ "description": "the content is not audio or video: it is served only at /sandbox/{id}", "headers": { "Location": { "schema": { "type": "string" } } } });
    file_responses["422"] = json!({ "description": "declared video/x-cvpm but does not rewrap (not tried again for a minute)" });
    let mut sandbox_responses = cached(errors());
    sandbox_responses["200"] = json!({ "description": "the verified bytes in an opaque origin (Content-Security-Policy: sandbox allow-scripts): documents and images rendered with a type from a fixed table, audio and video played, anything else application/octet-stream as an attachment", "headers": validators() });
    let mut stream_responses = cached(errors());
    stream_responses["200"] = json!({ "description": "the raw verified stream as an attachment", "headers": validators(), "content": { "application/octet-stream": {} } });
    let mut content_responses = errors();
    content_responses["200"] = json!({ "description": "metadata", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Content" } } } });
    json!({
        "openapi": "3.0.3",
        "info": { "title": "BitFlix gateway", "version": env!("CARGO_PKG_VERSION"), "description": "Films found on chain under the CVP protocol, verified against their publisher's Merkle root and lineage." },
        "paths": {
            "/api/catalog": { "get": { "summary": "every content found (with trusted publishers, only theirs unless all=1)", "parameters": [
                { "name": "all", "in": "query", "required": false, "schema": { "type": "string", "enum": ["1"] }, "description": "list every publisher's contents even when some are trusted" },
                { "name": "q", "in": "query", "required": false, "schema": { "type": "string" }, "description": "titles containing this text (case-folded)" }
            ], "responses": { "200": { "description": "the catalog", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Content" } } } } } } } },
            "/api/content/{id}": { "get": { "summary": "one content's metadata and state", "parameters": [id_param()], "responses": content_responses } },
            "/api/content/{id}/file": { "get": { "summary": "the verified file (Range supported)", "parameters": file_params(), "responses": file_responses } },
            "/api/content/{id}/stream": { "get": { "summary": "the raw verified stream, as published on chain (Range supported)", "parameters": file_params(), "responses": stream_responses } },
            "/sandbox/{id}": { "get": { "summary": "any content, in an opaque origin whose scripts cannot reach the gateway's (Range supported)", "parameters": file_params(), "responses": sandbox_responses } },
            "/api/trust/{key}": {
                "post": { "summary": "trust a publisher (pinned from the watch page; same origin only)", "parameters": trust_params(), "responses": trust_responses() },
                "delete": { "summary": "stop trusting a publisher", "parameters": trust_params(), "responses": trust_responses() }
            },
            "/api/stats": { "get": { "summary": "requests that reached the gateway, by route class (never cached)", "responses": { "200": { "description": "{\"requests\": n, \"by_class\": {class: n}}", "content": { "application/json": {} } } } } },
            "/api/openapi.json": { "get": { "summary": "this document", "responses": { "200": { "description": "OpenAPI 3" } } } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
            "Content": { "type": "object", "required": ["id", "header", "state", "segments_received", "segments_verified", "transactions", "flaws"], "properties": {
                "id": { "type": "string" },
                "header": { "type": "object", "description": "the CVP header (docs/cvp.md)", "properties": { "title": { "type": "string" }, "media_type": { "type": "string" }, "duration_ms": { "type": "integer" }, "total_length": { "type": "integer" }, "segment_count": { "type": "integer" }, "merkle_root": { "type": "string" }, "segment_size": { "type": "integer" } } },
                "state": { "type": "string", "enum": ["complete", "verified", "arriving", "damaged"] },
                "segments_received": { "type": "integer" },
                "segments_verified": { "type": "integer" },
                "transactions": { "type": "integer" },
                "first_block": { "type": "integer", "nullable": true },
                "last_block": { "type": "integer", "nullable": true },
                "flaws": { "type": "array", "items": { "type": "string" } },
                "verified_length": { "type": "integer", "description": "bytes of the verified segments" },
                "cost_sat": { "type": "integer", "nullable": true },
                "bytes_by_block": { "type": "array", "items": { "type": "array" } },
                "publisher": { "type": "object", "nullable": true, "description": "the key of the coin the header spends (docs/cvp.md, Publishers)", "properties": { "key": { "type": "string" }, "fingerprint": { "type": "string" }, "name": { "type": "string", "description": "self-declared" } } },
                "trusted": { "type": "boolean", "description": "the viewer trusts this publisher (bitflix serve --trust)" },
                "lookalike_of": { "type": "string", "nullable": true, "description": "an earlier content of another publisher with the same title" },
                "lookalikes": { "type": "array", "items": { "type": "string" } },
                "forged_segments": { "type": "integer", "description": "segments outside the lineage shaped like this content's" }
            } }
        } }
    })
}

fn trust_params() -> serde_json::Value {
    serde_json::json!([
        { "name": "key", "in": "path", "required": true, "schema": { "type": "string" }, "description": "the publisher key (64 hex digits) or its fingerprint (16 or more)" },
        { "name": "x-bitflix-action", "in": "header", "required": true, "schema": { "type": "string", "enum": ["trust"] }, "description": "required: other origins cannot send it without a CORS preflight, which is never granted" }
    ])
}

fn trust_responses() -> serde_json::Value {
    serde_json::json!({
        "204": { "description": "done; kept for the next start" },
        "400": { "description": "not a publisher key or fingerprint" },
        "403": { "description": "without the header, or from another origin" }
    })
}
