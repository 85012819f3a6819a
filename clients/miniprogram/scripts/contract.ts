/**
 * The API's contract across releases: compare the current OpenAPI document with the last
 * release's (a snapshot in contract/, since a CI clone may have no tags) and fail on a breaking
 * change without a new major version, or on any addition without a new version.
 *
 *   node dist-test/scripts/contract.js check <openapi.json> [--release-file ../../.ci/previous-release]
 *   node dist-test/scripts/contract.js snapshot <openapi.json> <tag> <commit> <sdk version> <out.json>
 *
 * Breaking, for a mini-program built against the old document:
 * - an operation removed (method + path), or its operationId changed (the generated types key
 *   operations by it); a schema component removed or renamed (the generated type names);
 * - a request that the server now refuses: a new required parameter or body field, a field or
 *   parameter no longer accepted (the API refuses unknown fields), a type changed, an enum value
 *   removed, null no longer accepted;
 * - a success response a client can no longer read: a 2xx status or media type removed, a
 *   field removed or renamed or no longer always present, a type changed, a value that may
 *   now be null.
 * Additions (need a new minor): an operation, an optional parameter or field, a response
 * field, an enum value (clients must accept unknown values: docs/miniprogram.md, "Versions").
 * Error responses are not compared: codes are only ever added (docs/api.md).
 */

import { readFileSync, writeFileSync } from "node:fs";

type Json = Record<string, unknown>;

export interface Report {
  breaking: string[];
  additions: string[];
}

const METHODS = ["get", "put", "post", "delete", "patch"];
// Kept out of a snapshot: prose and examples, which change freely.
const PROSE = new Set(["description", "summary", "example", "examples", "links"]);
// Objects whose keys are names (a field called "description" is not prose).
const NAMED = new Set([
  "properties",
  "paths",
  "schemas",
  "responses",
  "headers",
  "content",
  "parameters",
  "securitySchemes",
  "mapping",
]);

/** The document without prose and examples: what a snapshot keeps. */
export function reduce(value: unknown, named = false): unknown {
  if (Array.isArray(value)) return value.map((item) => reduce(item));
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => named || !PROSE.has(key))
      .map(([key, item]) => [key, reduce(item, NAMED.has(key) && !named)]),
  );
}

export function compare(before: Json, after: Json): Report {
  const report: Report = { breaking: [], additions: [] };
  const oldOps = operations(before);
  const newOps = operations(after);
  for (const [key, old] of oldOps) {
    const now = newOps.get(key);
    if (!now) {
      report.breaking.push(`${key}: operation removed (${old.operationId})`);
      continue;
    }
    if (old.operationId !== now.operationId) {
      report.breaking.push(`${key}: operationId ${old.operationId} -> ${now.operationId}`);
    }
    const context = new Comparison(before, after, report);
    context.parameters(key, old, now);
    context.requestBody(key, old, now);
    context.responses(key, old, now);
  }
  for (const [key, now] of newOps) {
    if (!oldOps.has(key)) report.additions.push(`${key}: new operation (${now.operationId})`);
  }
  const oldSchemas = Object.keys(schemas(before));
  const newSchemas = Object.keys(schemas(after));
  for (const name of oldSchemas) {
    if (!newSchemas.includes(name))
      report.breaking.push(`components.schemas.${name}: removed or renamed`);
  }
  for (const name of newSchemas) {
    if (!oldSchemas.includes(name)) report.additions.push(`components.schemas.${name}: new`);
  }
  return report;
}

function operations(document: Json): Map<string, Json> {
  const found = new Map<string, Json>();
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return found;
}

function schemas(document: Json): Json {
  return ((document.components as Json | undefined)?.schemas ?? {}) as Json;
}

type Direction = "request" | "response";

interface Shape {
  type: string;
  nullable: boolean;
  enum?: unknown[];
  properties?: Json;
  required?: string[];
  items?: unknown;
  additional?: unknown;
  alternatives?: unknown[];
  ref?: string;
}

class Comparison {
  private readonly seen = new Set<string>();

  constructor(
    private readonly before: Json,
    private readonly after: Json,
    private readonly report: Report,
  ) {}

  parameters(key: string, old: Json, now: Json): void {
    const list = (operation: Json, document: Json) => {
      const found = new Map<string, Json>();
      for (const raw of (operation.parameters ?? []) as Json[]) {
        const parameter = this.deref(raw, document);
        if (parameter.in === "header") continue; // X-Request-ID, If-None-Match: optional plumbing
        found.set(`${parameter.in}:${parameter.name}`, parameter);
      }
      return found;
    };
    const before = list(old, this.before);
    const after = list(now, this.after);
    for (const [name, parameter] of before) {
      const next = after.get(name);
      if (!next) {
        this.report.breaking.push(`${key}: parameter ${name} removed`);
        continue;
      }
      if (next.required && !parameter.required)
        this.report.breaking.push(`${key}: parameter ${name} now required`);
      this.schema(`${key} parameter ${name}`, parameter.schema, next.schema, "request");
    }
    for (const [name, parameter] of after) {
      if (before.has(name)) continue;
      if (parameter.required) this.report.breaking.push(`${key}: new required parameter ${name}`);
      else this.report.additions.push(`${key}: new parameter ${name}`);
    }
  }

  requestBody(key: string, old: Json, now: Json): void {
    const before = old.requestBody as Json | undefined;
    const after = now.requestBody as Json | undefined;
    if (!before) {
      if (after?.required) this.report.breaking.push(`${key}: now requires a body`);
      else if (after) this.report.additions.push(`${key}: takes a body`);
      return;
    }
    if (!after) {
      this.report.breaking.push(`${key}: takes no body any more`);
      return;
    }
    for (const [media, content] of Object.entries((before.content ?? {}) as Record<string, Json>)) {
      const next = ((after.content ?? {}) as Record<string, Json>)[media];
      if (!next) {
        this.report.breaking.push(`${key}: request body ${media} no longer accepted`);
        continue;
      }
      this.schema(`${key} body`, content.schema, next.schema, "request");
    }
  }

  responses(key: string, old: Json, now: Json): void {
    const before = (old.responses ?? {}) as Record<string, Json>;
    const after = (now.responses ?? {}) as Record<string, Json>;
    for (const [status, response] of Object.entries(before)) {
      if (!/^2/.test(status)) continue;
      const next = after[status];
      if (!next) {
        this.report.breaking.push(`${key}: response ${status} removed`);
        continue;
      }
      for (const [media, content] of Object.entries(
        (response.content ?? {}) as Record<string, Json>,
      )) {
        const nextContent = ((next.content ?? {}) as Record<string, Json>)[media];
        if (!nextContent) {
          this.report.breaking.push(`${key} ${status}: ${media} no longer answered`);
          continue;
        }
        this.schema(`${key} ${status}`, content.schema, nextContent.schema, "response");
      }
    }
    for (const status of Object.keys(after)) {
      if (/^2/.test(status) && !before[status])
        this.report.additions.push(`${key}: new response ${status}`);
    }
  }

  /** One schema, old against new, as a request (what is sent) or a response (what is read). */
  schema(where: string, oldSchema: unknown, newSchema: unknown, direction: Direction): void {
    if (oldSchema === undefined || newSchema === undefined) return;
    const old = this.shape(oldSchema, this.before);
    const now = this.shape(newSchema, this.after);
    const visit = `${old.ref ?? ""}|${now.ref ?? ""}|${direction}`;
    if (old.ref && now.ref) {
      if (this.seen.has(visit)) return;
      this.seen.add(visit);
    }
    const breaking = (what: string): void => void this.report.breaking.push(`${where}: ${what}`);
    const addition = (what: string): void => void this.report.additions.push(`${where}: ${what}`);
    if (old.type !== now.type) return breaking(`type ${old.type} -> ${now.type}`);
    if (direction === "response" && now.nullable && !old.nullable) breaking("may now be null");
    if (direction === "request" && old.nullable && !now.nullable)
      breaking("null no longer accepted");
    this.enums(old, now, direction, breaking, addition);
    if (old.type === "union") {
      const before = old.alternatives ?? [];
      const after = now.alternatives ?? [];
      if (before.length !== after.length) return breaking("alternatives changed");
      before.forEach((alternative, i) =>
        this.schema(`${where}|${i}`, alternative, after[i], direction),
      );
      return;
    }
    if (old.type === "array") return this.schema(`${where}[]`, old.items, now.items, direction);
    if (old.type !== "object") return;
    const oldProps = old.properties ?? {};
    const newProps = now.properties ?? {};
    const oldRequired = new Set(old.required ?? []);
    const newRequired = new Set(now.required ?? []);
    for (const [name, schema] of Object.entries(oldProps)) {
      if (!(name in newProps)) {
        breaking(
          direction === "response" ? `field ${name} removed` : `field ${name} no longer accepted`,
        );
        continue;
      }
      if (direction === "response" && oldRequired.has(name) && !newRequired.has(name)) {
        breaking(`field ${name} may now be absent`);
      }
      if (direction === "request" && !oldRequired.has(name) && newRequired.has(name)) {
        breaking(`field ${name} now required`);
      }
      this.schema(`${where}.${name}`, schema, newProps[name], direction);
    }
    for (const name of Object.keys(newProps)) {
      if (name in oldProps) continue;
      if (direction === "request" && newRequired.has(name)) breaking(`new required field ${name}`);
      else addition(`new field ${name}`);
    }
    if (typeof old.additional === "object" && typeof now.additional === "object") {
      this.schema(`${where}{}`, old.additional, now.additional, direction);
    }
  }

  private enums(
    old: Shape,
    now: Shape,
    direction: Direction,
    breaking: (what: string) => void,
    addition: (what: string) => void,
  ): void {
    if (!old.enum && !now.enum) return;
    if (old.enum && now.enum) {
      const removed = old.enum.filter((value) => !now.enum!.includes(value));
      const added = now.enum.filter((value) => !old.enum!.includes(value));
      if (removed.length && direction === "request")
        breaking(`enum values removed: ${removed.join(", ")}`);
      if (added.length) addition(`enum values added: ${added.join(", ")}`);
      return;
    }
    if (now.enum && direction === "request") breaking("now limited to an enum");
    else addition(now.enum ? "now an enum" : "no longer an enum");
  }

  private deref(node: Json, document: Json): Json {
    let current = node;
    for (let i = 0; i < 10 && typeof current.$ref === "string"; i++) {
      const path = (current.$ref as string).replace(/^#\//, "").split("/");
      current = path.reduce<Json>((at, part) => (at?.[part] ?? {}) as Json, document);
    }
    return current;
  }

  /** A schema reduced to what a client depends on: $refs followed, null alternatives folded. */
  private shape(raw: unknown, document: Json): Shape {
    let node = (raw ?? {}) as Json;
    let ref: string | undefined;
    let nullable = false;
    for (let i = 0; i < 10; i++) {
      if (typeof node.$ref === "string") {
        ref = node.$ref;
        node = this.deref(node, document);
        continue;
      }
      if (node.nullable === true) nullable = true;
      const alternatives = (node.anyOf ?? node.oneOf ?? node.allOf) as Json[] | undefined;
      if (!alternatives) break;
      const notNull = alternatives.filter((alternative) => {
        const isNull =
          Array.isArray(alternative.enum) &&
          alternative.enum.length === 1 &&
          alternative.enum[0] === null;
        if (isNull) nullable = true;
        return !isNull;
      });
      if (notNull.length !== 1) {
        return { type: "union", nullable, alternatives: notNull, ...(ref ? { ref } : {}) };
      }
      node = notNull[0]!;
    }
    const type = typeof node.type === "string" ? node.type : node.properties ? "object" : "any";
    return {
      type,
      nullable: nullable || node.nullable === true,
      ...(Array.isArray(node.enum) ? { enum: node.enum.filter((value) => value !== null) } : {}),
      ...(node.properties ? { properties: node.properties as Json } : {}),
      ...(Array.isArray(node.required) ? { required: node.required as string[] } : {}),
      ...(node.items ? { items: node.items } : {}),
      ...(node.additionalProperties !== undefined ? { additional: node.additionalProperties } : {}),
      ...(ref ? { ref } : {}),
    };
  }
}

export interface Versions {
  api: string;
  sdk: string;
}

/** What the versions must be, given the report: the problems found (empty: fine). */
export function verdict(report: Report, previous: Versions, current: Versions): string[] {
  const problems: string[] = [];
  const [oldMajor, oldMinor, oldPatch] = semver(previous.api);
  const [newMajor, newMinor, newPatch] = semver(current.api);
  const [sdkOldMajor, sdkOldMinor] = semver(previous.sdk);
  const [sdkMajor, sdkMinor] = semver(current.sdk);
  const apiBumped =
    newMajor > oldMajor ||
    (newMajor === oldMajor &&
      (newMinor > oldMinor || (newMinor === oldMinor && newPatch > oldPatch)));
  if (compareVersions(current.api, previous.api) < 0)
    problems.push(`API version ${current.api} is below the release's ${previous.api}`);
  if (report.breaking.length && newMajor <= oldMajor) {
    problems.push(`breaking changes need API version ${oldMajor + 1}.0.0 (it is ${current.api})`);
  } else if (report.additions.length && !(newMajor > oldMajor || newMinor > oldMinor)) {
    problems.push(
      `additions need at least API version ${oldMajor}.${oldMinor + 1}.0 (it is ${current.api})`,
    );
  }
  // The SDK's types are generated from the document: its version moves with the API's.
  if (newMajor > oldMajor && sdkMajor <= sdkOldMajor) {
    problems.push(
      `a new API major needs a new SDK major (SDK ${current.sdk}, released ${previous.sdk})`,
    );
  } else if (apiBumped && compareVersions(current.sdk, previous.sdk) <= 0) {
    problems.push(
      `the API moved to ${current.api}: the SDK needs a new version too (it is ${current.sdk})`,
    );
  } else if (newMinor > oldMinor && sdkMajor === sdkOldMajor && sdkMinor <= sdkOldMinor) {
    problems.push(`a new API minor needs at least a new SDK minor (SDK ${current.sdk})`);
  }
  return problems;
}

function semver(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`not a semver version: ${version}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

// --- command line ---------------------------------------------------------------------------

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, "utf8")) as Json;
}

function main(argv: string[]): number {
  const [command, ...args] = argv;
  if (command === "snapshot") {
    const [input, tag, commit, sdk, out] = args;
    if (!input || !tag || !commit || !sdk || !out)
      throw new Error("snapshot <openapi.json> <tag> <commit> <sdk version> <out.json>");
    const document = reduce(readJson(input)) as Json;
    const snapshot = { "x-release": { tag, commit, sdk_version: sdk }, ...document };
    writeFileSync(out, JSON.stringify(snapshot, null, 1) + "\n");
    return 0;
  }
  if (command === "check") {
    const input = args[0];
    if (!input) throw new Error("check <openapi.json> [--release-file path]");
    const flag = args.indexOf("--release-file");
    const releaseFile = flag >= 0 ? args[flag + 1]! : "../../.ci/previous-release";
    const release = readFileSync(releaseFile, "utf8")
      .split("\n")
      .find((line) => /^v\d+\.\d+\.\d+\s+[0-9a-f]{40}/.test(line));
    if (!release) throw new Error(`no "vX.Y.Z <commit>" line in ${releaseFile}`);
    const [tag, commit] = release.split(/\s+/) as [string, string];
    const snapshotPath = `contract/openapi-${tag.slice(1)}.json`;
    const previous = readJson(snapshotPath);
    const meta = previous["x-release"] as
      | { tag: string; commit: string; sdk_version: string }
      | undefined;
    if (!meta || meta.tag !== tag || meta.commit !== commit) {
      throw new Error(
        `${snapshotPath} is not the snapshot of ${tag} (${commit}): make it with \`snapshot\``,
      );
    }
    const current = readJson(input);
    const sdk = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
    const report = compare(previous, reduce(current) as Json);
    const versions = {
      previous: { api: String((previous.info as Json).version), sdk: meta.sdk_version },
      current: { api: String((current.info as Json).version), sdk },
    };
    console.log(
      `API ${versions.previous.api} (${tag}) -> ${versions.current.api}; SDK ${versions.previous.sdk} -> ${sdk}`,
    );
    for (const line of report.breaking) console.log(`  breaking: ${line}`);
    for (const line of report.additions) console.log(`  addition: ${line}`);
    const problems = verdict(report, versions.previous, versions.current);
    for (const problem of problems) console.error(`contract: ${problem}`);
    if (!problems.length) {
      console.log(
        `contract kept: ${report.breaking.length} breaking, ${report.additions.length} additions, versions fit`,
      );
    }
    return problems.length ? 1 : 0;
  }
  throw new Error("usage: contract.js check|snapshot ...");
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exit(main(process.argv.slice(2)));
}
