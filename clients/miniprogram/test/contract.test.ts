/**
 * The schema compatibility check (issue 23, finding 8): what counts as breaking, and which
 * versions it then asks for. The real comparison, the current document against the last
 * release's snapshot, runs in ci.sh (`npm run contract`).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { compare, reduce, verdict } from "../scripts/contract.js";

type Json = Record<string, unknown>;

/** A small document: GET /inbox answering items with an `event`, POST /events taking a body. */
function document(change: (doc: Json) => void = () => undefined): Json {
  const doc: Json = {
    info: { version: "1.0.0" },
    paths: {
      "/inbox": {
        get: {
          operationId: "inboxList",
          parameters: [{ in: "query", name: "cursor", schema: { type: "string" } }],
          responses: {
            "200": {
              description: "OK",
              content: {
                "application/json": {
                  schema: { type: "array", items: { $ref: "#/components/schemas/Item" } },
                },
              },
            },
          },
        },
      },
      "/events": {
        post: {
          operationId: "eventCreate",
          requestBody: {
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/EventInput" } },
            },
          },
          responses: { "201": { description: "Created" } },
        },
      },
    },
    components: {
      schemas: {
        Item: {
          type: "object",
          required: ["id", "event", "kind"],
          properties: {
            id: { type: "string" },
            description: { type: "string" },
            kind: { type: "string", enum: ["result", "cancel"] },
            event: { $ref: "#/components/schemas/EventRef" },
          },
        },
        EventRef: { type: "object", properties: { id: { type: "string" } } },
        EventInput: {
          type: "object",
          required: ["title"],
          properties: {
            title: { type: "string" },
            mode: { type: "string", enum: ["time", "count", "manual"] },
          },
        },
      },
    },
  };
  change(doc);
  return doc;
}

const schemas = (doc: Json) => (doc.components as Json).schemas as Record<string, Json>;
const item = (doc: Json) =>
  schemas(doc).Item as { properties: Record<string, unknown>; required: string[] };
const input = (doc: Json) =>
  schemas(doc).EventInput as { properties: Record<string, Json>; required: string[] };

test("the same document has nothing to report", () => {
  assert.deepEqual(compare(document(), document()), { breaking: [], additions: [] });
});

test("a removed operation and a changed operationId are breaking", () => {
  const removed = compare(
    document(),
    document((doc) => delete (doc.paths as Json)["/inbox"]),
  );
  assert.match(removed.breaking.join(), /GET \/inbox: operation removed/);
  const renamed = compare(
    document(),
    document(
      (doc) => ((((doc.paths as Json)["/inbox"] as Json).get as Json).operationId = "inbox"),
    ),
  );
  assert.match(renamed.breaking.join(), /operationId inboxList -> inbox/);
});

test("a response field removed or renamed is breaking; a new one is an addition", () => {
  const renamed = compare(
    document(),
    document((doc) => {
      item(doc).properties.item_id = item(doc).properties.id;
      delete item(doc).properties.id;
    }),
  );
  assert.match(renamed.breaking.join(), /GET \/inbox 200\[\]: field id removed/);
  assert.match(renamed.additions.join(), /new field item_id/);
});

test("a response value that may now be null is breaking (the inbox's event)", () => {
  const nullable = compare(
    document(),
    document((doc) => {
      item(doc).properties.event = {
        anyOf: [
          { $ref: "#/components/schemas/EventRef" },
          { enum: [null], nullable: true, type: "object" },
        ],
      };
    }),
  );
  assert.deepEqual(nullable.breaking, ["GET /inbox 200[].event: may now be null"]);
});

test("a new required request field, a type change and a narrowed request enum are breaking", () => {
  const report = compare(
    document(),
    document((doc) => {
      input(doc).properties.prizes = { type: "array", items: { type: "string" } };
      input(doc).required.push("prizes");
      input(doc).properties.title = { type: "integer" };
      input(doc).properties.mode = { type: "string", enum: ["time", "manual"] };
    }),
  );
  assert.deepEqual(report.breaking.sort(), [
    "POST /events body.mode: enum values removed: count",
    "POST /events body.title: type string -> integer",
    "POST /events body: new required field prizes",
  ]);
});

test("an optional request field, a new operation, a widened response enum are additions", () => {
  const report = compare(
    document(),
    document((doc) => {
      input(doc).properties.cover = { type: "string" };
      (item(doc).properties.kind as Json).enum = ["result", "cancel", "shipped"];
      (doc.paths as Json)["/square"] = { get: { operationId: "squareList", responses: {} } };
    }),
  );
  assert.deepEqual(report.breaking, []);
  assert.equal(report.additions.length, 3);
});

test("a renamed schema component is breaking: generated types are named after it", () => {
  const report = compare(
    document(),
    document((doc) => {
      schemas(doc).EventRefOutput = schemas(doc).EventRef!;
      delete schemas(doc).EventRef;
      item(doc).properties.event = { $ref: "#/components/schemas/EventRefOutput" };
    }),
  );
  assert.deepEqual(report.breaking, ["components.schemas.EventRef: removed or renamed"]);
});

test("a snapshot keeps fields named like prose and drops the prose", () => {
  const reduced = reduce({
    description: "x",
    properties: { description: { type: "string", description: "y" } },
  });
  assert.deepEqual(reduced, { properties: { description: { type: "string" } } });
});

test("versions: breaking needs a major of both, an addition a minor of both", () => {
  const breaking = { breaking: ["x"], additions: [] };
  const addition = { breaking: [], additions: ["y"] };
  const released = { api: "1.0.0", sdk: "1.0.0" };
  assert.match(
    verdict(breaking, released, { api: "1.1.0", sdk: "1.1.0" }).join(),
    /need API version 2\.0\.0/,
  );
  assert.deepEqual(verdict(breaking, released, { api: "2.0.0", sdk: "2.0.0" }), []);
  assert.match(verdict(breaking, released, { api: "2.0.0", sdk: "1.1.0" }).join(), /new SDK major/);
  assert.match(
    verdict(addition, released, { api: "1.0.0", sdk: "1.0.0" }).join(),
    /at least API version 1\.1\.0/,
  );
  assert.match(
    verdict(addition, released, { api: "1.1.0", sdk: "1.0.0" }).join(),
    /SDK needs a new version/,
  );
  assert.deepEqual(verdict(addition, released, { api: "1.1.0", sdk: "1.1.0" }), []);
  assert.deepEqual(verdict({ breaking: [], additions: [] }, released, released), []);
});

test("the last release's snapshot is the one .ci/previous-release names", () => {
  const release = readFileSync("../../.ci/previous-release", "utf8")
    .split("\n")
    .find((line) => /^v\d/.test(line))!;
  const [tag, commit] = release.split(/\s+/);
  const snapshot = JSON.parse(readFileSync(`contract/openapi-${tag!.slice(1)}.json`, "utf8"));
  assert.deepEqual([snapshot["x-release"].tag, snapshot["x-release"].commit], [tag, commit]);
  assert.equal(snapshot.info.version, tag!.slice(1));
});
