/**
 * Every operation a mini-program calls has an SDK function (issue 23, finding 1). Read from
 * the OpenAPI document itself (SCHEMA, as ci.sh generates it from the Django app), so an
 * operation another change adds fails here before anyone regenerates the types; the table's
 * methods, paths and public flags must be the document's, and each names a real function.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { createApi } from "../src/api.js";
import {
  API_PREFIX,
  NOT_FOR_MINIPROGRAMS,
  OPERATIONS,
  type OperationSpec,
} from "../src/operations.js";

const schemaPath = process.env.SCHEMA ?? (existsSync("openapi.json") ? "openapi.json" : "");
const inCi = ["1", "true", "yes"].includes((process.env.CI ?? "").toLowerCase());
if (!schemaPath && inCi) throw new Error("SCHEMA must name the API's OpenAPI document in CI");

interface Operation {
  method: string;
  path: string;
  public: boolean;
}

function documented(): Map<string, Operation> {
  const document = JSON.parse(readFileSync(schemaPath, "utf8")) as {
    paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
  };
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!operation.operationId) continue;
      const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
      found.set(operation.operationId, { method: method.toUpperCase(), path, public: isPublic });
    }
  }
  return found;
}

const skip = !schemaPath && "no SCHEMA (openapi.json)";

test("every operation a mini-program calls has an SDK function", { skip }, () => {
  const operations = documented();
  const without = [...operations.keys()].filter(
    (id) => !(id in OPERATIONS) && !(id in NOT_FOR_MINIPROGRAMS),
  );
  assert.deepEqual(
    without,
    [],
    "operations of the API with no SDK function (src/operations.ts, src/api.ts)",
  );
  const gone = [...Object.keys(OPERATIONS), ...Object.keys(NOT_FOR_MINIPROGRAMS)].filter(
    (id) => !operations.has(id),
  );
  assert.deepEqual(gone, [], "operations the SDK names that the API no longer has");
  const covered = Object.keys(OPERATIONS).length;
  assert.equal(
    covered,
    operations.size - Object.keys(NOT_FOR_MINIPROGRAMS).length,
    "100% of the rest",
  );
});

test(
  "each SDK function calls its operation's method and path, with a token only where needed",
  { skip },
  () => {
    const operations = documented();
    for (const [id, spec] of Object.entries(OPERATIONS) as [string, OperationSpec][]) {
      const operation = operations.get(id);
      if (!operation) continue; // reported above
      assert.equal(spec.method, operation.method, id);
      assert.equal(API_PREFIX + spec.path, operation.path, id);
      assert.equal(spec.public === true, operation.public, `${id}: public`);
    }
  },
);

test("every name in the table is a function of createApi()", () => {
  const api = createApi({
    baseUrl: "http://api.test",
    wx: { request: () => ({}), uploadFile: () => ({}) },
  });
  for (const [id, spec] of Object.entries(OPERATIONS) as [string, OperationSpec][]) {
    const [group, name] = spec.sdk.split(".") as [string, string];
    const fn = (api as unknown as Record<string, Record<string, unknown>>)[group]?.[name];
    assert.equal(typeof fn, "function", `${spec.sdk} (${id})`);
  }
});
