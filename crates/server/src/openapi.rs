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

fn html(summary: &str, params: Value) -> Value {
    json!({ "get": { "summary": summary, "parameters": params, "responses": {
        "200": { "description": "an HTML page (the page CSP; never stored)", "content": { "text/html": {} } },
        "404": { "description": "an HTML page saying what was not found", "content": { "text/html": {} } }
    } } })
}

fn asset(mime: &str) -> Value {
    json!({ "get": { "summary": "the pages' own script or style", "responses": { "200": { "description": mime, "content": { mime: {} } } } } })
}

fn json_200(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn catalog_params() -> Value {
    json!([
        { "name": "all", "in": "query", "required": false, "schema": { "type": "string", "enum": ["1"] }, "description": "list every publisher's contents even when some are trusted" },
        { "name": "q", "in": "query", "required": false, "schema": { "type": "string" }, "description": "titles containing this text (case, white space and invisible characters folded)" },
        { "name": "page", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1 }, "description": "the page, from 1 (newest first)" }
    ])
}

/// The document.
pub fn document() -> Value {
    let mut file_responses = cached(errors());
    file_responses["200"] = json!({ "description": "the verified file, audio or video only, with a type from a fixed table (never the one declared on chain); video/x-cvpm is muxed to a seekable video/webm in process", "headers": validators(), "content": { "video/webm": {}, "video/mp4": {}, "audio/ogg": {}, "audio/mpeg": {} } });
    file_responses["303"] = json!({ "description": "the content is not audio or video: it is served only at /sandbox/{id}", "headers": { "Location": { "schema": { "type": "string" } } } });
    file_responses["422"] = json!({ "description": "declared video/x-cvpm but is not a playable stream (not tried again for a minute)" });
    let mut sandbox_responses = cached(errors());
    sandbox_responses["200"] = json!({ "description": "the verified bytes in an opaque origin (Content-Security-Policy: sandbox allow-scripts): documents and images rendered with a type from a fixed table, audio and video played, anything else application/octet-stream as an attachment", "headers": validators() });
    let mut stream_responses = cached(errors());
    stream_responses["200"] = json!({ "description": "the raw verified stream as an attachment", "headers": validators(), "content": { "application/octet-stream": {} } });
    let mut content_responses = errors();
    content_responses["200"] = json_200("metadata", schema("Content"));
    let mut catalog_api_params = catalog_params();
    if let Some(list) = catalog_api_params.as_array_mut() {
        list.push(json!({ "name": "per_page", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 500 }, "description": "contents per page (default and most: 500)" }));
    }
    let mut poster_responses = errors();
    poster_responses["200"] = json!({ "description": "the poster from the content's header, typed by its magic bytes (WebP, AVIF or JPEG of at most 64 KiB; anything else is not served); immutable", "content": { "image/webp": {}, "image/avif": {}, "image/jpeg": {} } });
    poster_responses["304"] = json!({ "description": "If-None-Match names its ETag" });
    let mut manifest_responses = errors();
    manifest_responses["200"] = json_200(
        "what the player needs now (never cached: it changes while the film arrives)",
        schema("Manifest"),
    );
    manifest_responses["422"] =
        json!({ "description": "declared video/x-cvpm but is not a playable stream" });
    let mut init_responses = cached(errors());
    init_responses["200"] = json!({ "description": "the WebM init segment (EBML header, Segment of unknown size, Info, Tracks); immutable once the film is complete", "headers": validators(), "content": { "video/webm": {} } });
    let mut fragment_responses = cached(errors());
    fragment_responses["200"] = json!({ "description": "fragment n (Clusters from one keyframe to the next), served once closed: its bytes never change, so it is immutable even while the film is arriving", "headers": validators(), "content": { "video/webm": {} } });
    let mut events_responses = errors();
    events_responses["200"] = json!({ "description": "server-sent events: `manifest` (data: a Manifest as JSON) now and whenever more of the film is verified, `gone` when the content leaves the index, `error` when the new part cannot be read; the stream ends once the film is complete or after 10 minutes (browsers reconnect)", "content": { "text/event-stream": {} } });
    let fragment_params = json!([ id_param(), { "name": "n", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 }, "description": "the fragment's index in the manifest" } ]);
    let mut live_manifest = errors();
    live_manifest["200"] = json_200(
        "a live stream's chunks now (never cached)",
        json!({ "type": "object" }),
    );
    let (live_init, live_fragment, live_events, live_params) = (
        init_responses.clone(),
        fragment_responses.clone(),
        events_responses.clone(),
        fragment_params.clone(),
    );
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": { "title": "BitFlix gateway", "version": env!("CARGO_PKG_VERSION"), "description": "Films found on chain under the CVP protocol, verified against their publisher's Merkle root and lineage. Every route the gateway serves is listed here (a test checks the router against this document, and every JSON answer against its schema)." },
        "paths": {
            "/": html("the catalog: posters, newest first, search and pages", catalog_params()),
            "/watch/{id}": html("one content: the player, its publisher, transactions, blocks, cost and state", json!([id_param()])),
            "/static/bitflix.css": asset("text/css"),
            "/static/watch.js": asset("text/javascript"),
            "/static/player.js": asset("text/javascript"),
            "/static/story.js": asset("text/javascript"),
            "/static/upscale.js": asset("text/javascript"),
            "/api/catalog": { "get": { "summary": "the contents found, newest first (with trusted publishers, only theirs unless all=1)", "parameters": catalog_api_params, "responses": { "200": json_200("the catalog", json!({ "type": "array", "items": schema("Content") })) } } },
            "/api/content/{id}": { "get": { "summary": "one content's metadata and state", "parameters": [id_param()], "responses": content_responses } },
            "/api/content/{id}/poster": { "get": { "summary": "the content's poster", "parameters": [id_param()], "responses": poster_responses } },
            "/api/content/{id}/media": { "get": { "summary": "a CVPM film's manifest for Media Source Extensions", "parameters": [id_param()], "responses": manifest_responses } },
            "/api/content/{id}/media/init": { "get": { "summary": "a CVPM film's WebM init segment", "parameters": file_params(), "responses": init_responses } },
            "/api/content/{id}/media/{n}": { "get": { "summary": "one WebM fragment of a CVPM film", "parameters": fragment_params, "responses": fragment_responses } },
            "/api/content/{id}/events": { "get": { "summary": "a CVPM film's progress, pushed", "parameters": [id_param()], "responses": events_responses } },
            "/api/content/{id}/live": { "get": { "summary": "a live stream's manifest: its chunks in index order, with times, durations and arrival (`from`: chunks from that index)", "parameters": [id_param(), { "name": "from", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0 } }], "responses": live_manifest } },
            "/api/content/{id}/live/init": { "get": { "summary": "a live stream's WebM init segment (from chunk 0)", "parameters": file_params(), "responses": live_init } },
            "/api/content/{id}/live/{n}": { "get": { "summary": "chunk n of a live stream as a WebM fragment whose times start at 0 (placed at the chunk's timestamp)", "parameters": live_params, "responses": live_fragment } },
            "/api/content/{id}/live/events": { "get": { "summary": "a live stream's new chunks, pushed (`live`, `ended`, `gone`)", "parameters": [id_param()], "responses": live_events } },
            "/api/content/{id}/file": { "get": { "summary": "the verified file (Range supported)", "parameters": file_params(), "responses": file_responses } },
            "/api/content/{id}/stream": { "get": { "summary": "the raw verified stream, as published on chain (Range supported)", "parameters": file_params(), "responses": stream_responses } },
            "/sandbox/{id}": { "get": { "summary": "any content, in an opaque origin whose scripts cannot reach the gateway's (Range supported)", "parameters": file_params(), "responses": sandbox_responses } },
            "/api/trust/{key}": {
                "post": { "summary": "trust a publisher (pinned from the watch page; same origin only)", "parameters": trust_params(), "responses": trust_responses() },
                "delete": { "summary": "stop trusting a publisher", "parameters": trust_params(), "responses": trust_responses() }
            },
            "/api/stats": { "get": { "summary": "requests that reached the gateway, by route class, and what waits in the index for a parent (never cached)", "responses": { "200": json_200("the counts since the gateway started", schema("Stats")) } } },
            "/api/openapi.json": { "get": { "summary": "this document", "responses": { "200": { "description": "OpenAPI 3", "content": { "application/json": {} } } } } }
        },
        "components": { "schemas": schemas() }
    });
    story(&mut doc);
    bundles(&mut doc);
    doc
}

/// Bundles (apps): their files by path, in the sandbox (`bundle.rs`).
fn bundles(doc: &mut Value) {
    let mut r = cached(errors());
    r["200"] = json!({ "description": "the file, with a type from a fixed table by its extension, under a CSP sandbox that allows only this gateway's URLs, readable from any origin (the sandbox's is opaque)", "headers": validators() });
    r["422"] = json!({ "description": "declared a bundle but its index does not decode" });
    let path = json!({ "name": "path", "in": "path", "required": true, "schema": { "type": "string" }, "description": "the file's path in the bundle (docs/cvp.md, Bundles)" });
    let paths = &mut doc["paths"];
    paths["/sandbox/{id}/"] = json!({ "get": { "summary": "a bundle's entry page (an app), in the sandbox", "parameters": file_params(), "responses": r.clone() } });
    let mut params = file_params();
    if let Some(list) = params.as_array_mut() {
        list.push(path);
    }
    paths["/sandbox/{id}/{*path}"] = json!({ "get": { "summary": "a file of a bundle, by its relative path", "parameters": params, "responses": r } });
}

/// Interactive films: the story and the viewer's choices (`story.rs`).
fn story(doc: &mut Value) {
    let action = |a: &str| json!({ "name": "x-bitflix-action", "in": "header", "required": true, "schema": { "type": "string", "enum": [a] }, "description": "required: other origins cannot send it without a CORS preflight, which is never granted" });
    let mut story = errors();
    story["200"] = json_200("the clips with their spans, the decision points with the chain's tally, the flaws, and this gateway's viewer's path (never cached)", schema("Story"));
    let viewer_errors = json!({
        "400": { "description": "no such branch or option, or a malformed body" },
        "403": { "description": "without the header, or from another origin" },
        "404": { "description": "not an interactive film" },
        "409": { "description": "not possible now (nothing to record, a fee over the cap, too little money)" },
        "503": { "description": "this gateway has no viewer wallet, or its chain backend does not answer" }
    });
    let mut choose = viewer_errors.clone();
    choose["201"] = json_200(
        "the choice, signed by the viewer key and kept in the viewer's path",
        schema("LocalChoice"),
    );
    let mut forget = viewer_errors.clone();
    forget["204"] = json!({ "description": "forgotten (a recorded choice stays)" });
    let mut quote = viewer_errors.clone();
    quote["200"] = json_200(
        "what recording the unrecorded choices costs now",
        schema("Quote"),
    );
    let mut record = viewer_errors;
    record["201"] = json_200("the transaction that carries them", schema("Recorded"));
    let body = |s: &str| json!({ "required": true, "content": { "application/json": { "schema": schema(s) } } });
    let mut tx = errors();
    tx["200"] = json_200(
        "the transaction, raw",
        json!({ "type": "object", "required": ["txid", "hex"], "properties": { "txid": { "type": "string" }, "hex": { "type": "string" } } }),
    );
    let paths = &mut doc["paths"];
    paths["/api/tx/{txid}"] = json!({ "get": { "summary": "a CVP transaction the index stored (a recorded path's, a lineage's)", "parameters": [{ "name": "txid", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } }], "responses": tx } });
    paths["/api/content/{id}/story"] = json!({ "get": { "summary": "an interactive film's story", "parameters": [id_param()], "responses": story } });
    paths["/api/content/{id}/choices"] = json!({ "post": { "summary": "sign the viewer's choice at a decision and keep it in their path (same origin only)", "parameters": [id_param(), action("choose")], "requestBody": body("ChoiceIn"), "responses": choose } });
    paths["/api/content/{id}/choices/{branch}"] = json!({ "delete": { "summary": "forget the viewer's unrecorded choice at a branch (they went back)", "parameters": [id_param(), { "name": "branch", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }, action("choose")], "responses": forget } });
    paths["/api/content/{id}/choices/quote"] = json!({ "get": { "summary": "the cost of recording the viewer's unrecorded choices now", "parameters": [id_param()], "responses": quote } });
    paths["/api/content/{id}/choices/record"] = json!({ "post": { "summary": "record the viewer's unrecorded choices in one transaction paid by their wallet (same origin only)", "parameters": [id_param(), action("record")], "requestBody": body("RecordIn"), "responses": record } });
    let int = json!({ "type": "integer" });
    let string = json!({ "type": "string" });
    let s = &mut doc["components"]["schemas"];
    s["ChoiceIn"] = json!({ "type": "object", "required": ["branch_id", "option"], "properties": { "branch_id": int, "option": int } });
    s["RecordIn"] = json!({ "type": "object", "required": ["max_fee_sat"], "properties": { "max_fee_sat": int } });
    s["LocalChoice"] = json!({ "type": "object", "required": ["branch_id", "option", "record_hex", "at_unix_ms"], "properties": { "branch_id": int, "option": int, "record_hex": { "type": "string", "description": "the signed choice record's unit" }, "at_unix_ms": int, "txid": { "type": "string", "description": "the recording transaction, once sent" } } });
    s["Quote"] = json!({ "type": "object", "required": ["choices", "vbytes", "fee_sat", "feerate_sat_vb", "balance_sat"], "properties": { "choices": int, "vbytes": int, "fee_sat": int, "feerate_sat_vb": { "type": "number" }, "balance_sat": int } });
    s["Recorded"] = json!({ "type": "object", "required": ["txid", "fee_sat", "choices"], "properties": { "txid": string, "fee_sat": int, "choices": int } });
    s["Story"] = json!({ "type": "object", "required": ["id", "clips", "complete", "branches", "flaws", "viewer"], "properties": {
        "id": string,
        "clips": { "type": "array", "items": { "type": "object", "required": ["index", "name", "start_ms", "end_ms"], "properties": { "index": int, "name": string, "start_ms": int, "end_ms": { "type": "integer", "nullable": true } } } },
        "complete": { "type": "boolean", "description": "every clip of the table is known" },
        "branches": { "type": "array", "items": { "type": "object", "required": ["id", "at_clip", "timeout_ms", "default_option", "prompt", "options"], "properties": { "id": int, "at_clip": int, "timeout_ms": int, "default_option": int, "prompt": string, "options": { "type": "array", "items": { "type": "object", "required": ["label", "next_clip", "count", "pending"], "properties": { "label": string, "next_clip": int, "count": { "type": "integer", "description": "distinct keys whose first confirmed choice this is" }, "pending": { "type": "integer", "description": "choices in the mempool" } } } } } } },
        "flaws": { "type": "array", "items": string },
        "viewer": { "type": "object", "required": ["key", "path", "on_chain", "unavailable"], "properties": { "key": { "type": "string", "nullable": true }, "path": { "type": "array", "items": schema("LocalChoice") }, "on_chain": { "type": "array", "items": { "type": "object" } }, "unavailable": { "type": "string", "nullable": true } } }
    } });
}

fn schemas() -> Value {
    let int = json!({ "type": "integer" });
    let opt_int = json!({ "type": "integer", "nullable": true });
    let string = json!({ "type": "string" });
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": string } },
        "Stats": { "type": "object", "required": ["requests", "by_class", "index"], "properties": {
            "requests": { "type": "integer", "description": "every request that reached the gateway" },
            "by_class": { "type": "object", "description": "requests per route class (page, static, catalog, content, file, media, stream, sandbox, stats, other)", "additionalProperties": int },
            "index": { "type": "object", "description": "what waits in the index's lineage for a parent now (forgeries, or parents not seen yet), within its bound", "required": ["unattributed", "stray_live_chunks", "stray_segments"], "properties": {
                "unattributed": { "type": "integer", "description": "transactions waiting" },
                "stray_live_chunks": { "type": "integer", "description": "their live chunk records" },
                "stray_segments": { "type": "integer", "description": "their segment records" }
            } }
        } },
        "Header": { "type": "object", "description": "the CVP header as declared by its publisher (docs/cvp.md); the poster's bytes are served at /api/content/{id}/poster, not here", "required": ["media_type"], "properties": {
            "title": string, "media_type": string, "duration_ms": int, "total_length": int, "segment_count": int,
            "merkle_root": { "type": "string", "description": "hex" }, "segment_size": int,
            "unknown": { "type": "array", "description": "odd fields this reader does not know", "items": { "type": "object" } }
        } },
        "Publisher": { "type": "object", "required": ["key", "fingerprint"], "description": "the key of the coin the header spends (docs/cvp.md, Publishers)", "properties": {
            "key": string, "fingerprint": string, "name": { "type": "string", "description": "self-declared" }
        } },
        "LineageTx": { "type": "object", "required": ["txid", "height"], "properties": { "txid": string, "height": opt_int } },
        "Content": { "type": "object", "required": ["id", "header", "state", "segments_received", "segments_verified", "verified_length", "transactions", "cost_sat", "first_block", "last_block", "flaws", "bytes_by_block", "publisher", "lookalike_of", "lookalikes", "forged_segments", "lineage", "trusted", "poster_url", "duration_ms"], "properties": {
            "id": string,
            "header": schema("Header"),
            "state": { "type": "string", "enum": ["complete", "verified", "arriving", "damaged", "live", "committed"] },
            "segments_received": int,
            "segments_verified": int,
            "verified_length": { "type": "integer", "description": "bytes of the verified segments" },
            "transactions": int,
            "cost_sat": opt_int,
            "first_block": opt_int,
            "last_block": opt_int,
            "flaws": { "type": "array", "items": string },
            "bytes_by_block": { "type": "array", "description": "[height or null for the mempool, bytes]", "items": { "type": "array", "items": {} } },
            "publisher": { "allOf": [schema("Publisher")], "nullable": true },
            "lookalike_of": { "type": "string", "nullable": true, "description": "an earlier content of another publisher with the same title" },
            "lookalikes": { "type": "array", "items": string },
            "forged_segments": { "type": "integer", "description": "segments outside the lineage shaped like this content's" },
            "live": { "type": "object", "nullable": true, "description": "a live stream's chunks held, gaps, forged chunks and whether it is still open" },
            "interactive": { "type": "boolean", "description": "present (true) for an interactive film: its story is at /api/content/{id}/story" },
            "commitment": schema("Commitment"),
            "lineage": { "type": "array", "description": "the lineage transactions: the header's first, then by height (the mempool's last)", "items": schema("LineageTx") },
            "trusted": { "type": "boolean", "description": "the viewer trusts this publisher (bitflix serve --trust)" },
            "poster_url": { "type": "string", "nullable": true },
            "duration_ms": { "type": "integer", "nullable": true, "description": "the header's duration, else the stream's once the gateway has read it" },
            "swarm": schema("Swarm")
        } },
        "Swarm": { "type": "object", "required": ["state", "checked_bytes"], "description": "present for a content behind a commitment on a gateway that fetches from BitTorrent (bitflix serve): where its fetch stands", "properties": {
            "state": { "type": "string", "enum": ["waiting", "fetching", "refused"], "description": "waiting: no peer has given the swarm yet (not an error); refused: the swarm holds other bytes than the committed ones" },
            "checked_bytes": { "type": "integer", "description": "bytes from the start checked against the pieces root: what is served" },
            "why": { "type": "string", "description": "why it waits, why it is refused, or (fetching) why the checked prefix stops growing: a piece that fails its hash" }
        } },
        "Commitment": { "type": "object", "required": ["root", "length", "media_code", "infohash", "unit_bytes", "bytes"], "description": "present for a content behind a commitment (docs/cvp.md, Commitments): its bytes are on BitTorrent, none on chain", "properties": {
            "root": { "type": "string", "description": "BitTorrent v2's pieces root of the bytes, hex" },
            "length": int,
            "media_code": int,
            "infohash": { "type": "string", "description": "the v1 infohash of the swarm, hex" },
            "seed": { "type": "string", "description": "the publisher's seed, address:port" },
            "unit_bytes": { "type": "integer", "description": "the record's unit on chain, in bytes" },
            "bytes": { "type": "string", "enum": ["bittorrent"] }
        } },
        "Fragment": { "type": "object", "required": ["index", "start_ms", "end_ms", "closed"], "properties": {
            "index": int, "start_ms": int, "end_ms": int, "closed": { "type": "boolean", "description": "its next keyframe is here (or the film is complete): served, and never changes" }
        } },
        "Manifest": { "type": "object", "required": ["id", "mime", "complete", "state", "segments_verified", "segment_count", "duration_ms", "declared_duration_ms", "audio_left_out", "fragments"], "properties": {
            "id": string,
            "mime": { "type": "string", "description": "for MediaSource.addSourceBuffer" },
            "complete": { "type": "boolean" },
            "state": { "type": "string", "enum": ["complete", "verified", "arriving", "damaged", "live", "committed"] },
            "segments_verified": int,
            "segment_count": opt_int,
            "duration_ms": { "type": "integer", "description": "of what is here" },
            "declared_duration_ms": opt_int,
            "audio_left_out": { "type": "boolean", "description": "the audio (Codec 2) is not in the WebM: browsers do not play it" },
            "fragments": { "type": "array", "items": schema("Fragment") }
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
