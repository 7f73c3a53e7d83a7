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

/// The document.
pub fn document() -> Value {
    let mut file_responses = errors();
    file_responses["200"] =
        json!({ "description": "the verified file", "content": { "video/*": {} } });
    file_responses["206"] = json!({ "description": "one byte range of it (HTTP Range)" });
    file_responses["416"] = json!({ "description": "range not satisfiable" });
    let mut content_responses = errors();
    content_responses["200"] = json!({ "description": "metadata", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Content" } } } });
    json!({
        "openapi": "3.0.3",
        "info": { "title": "BitFlix gateway", "version": env!("CARGO_PKG_VERSION"), "description": "Films found on chain under the CVP protocol, verified against their publisher's Merkle root and lineage." },
        "paths": {
            "/api/catalog": { "get": { "summary": "every content found", "responses": { "200": { "description": "the catalog", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Content" } } } } } } } },
            "/api/content/{id}": { "get": { "summary": "one content's metadata and state", "parameters": [id_param()], "responses": content_responses } },
            "/api/content/{id}/file": { "get": { "summary": "the verified file (Range supported)", "parameters": [id_param(), { "name": "Range", "in": "header", "required": false, "schema": { "type": "string", "example": "bytes=0-1023" } }], "responses": file_responses } },
            "/api/content/{id}/stream": { "get": { "summary": "the raw verified stream, as published on chain (Range supported)", "parameters": [id_param()], "responses": { "200": { "description": "bytes" }, "206": { "description": "one byte range" } } } },
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
                "flaws": { "type": "array", "items": { "type": "string" } }
            } }
        } }
    })
}
