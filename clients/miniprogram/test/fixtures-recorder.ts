/**
 * The mock's fixtures, from the exchanges of the whole flow against a live server: for each
 * operation, its last successful answer (in the order requests were sent, so the same on every
 * run). What changes from run to run is replaced by stable placeholders, so CI can record them
 * again and require them equal to the committed `src/fixtures.ts`:
 *
 * - the server's address -> https://api.example.com;
 * - ids (`e_…`, `u_…`, `p_…`, `img_…`, `c_…`, `s_…`) -> `e_0000000000000001`…, by first appearance;
 * - the caller's WeChat ids (`wechat_openid`, `wechat_unionid` of their data export) ->
 *   `openid-1`…;
 * - tokens (JWTs), SHA-256 hex (commitments, seeds, digests), cursors (`next`), ETags, the file
 *   names of pictures -> numbered placeholders (and their month folders -> the fixed day's);
 * - datetimes -> a fixed day: whole hours from the flow's start are kept (a draw an hour ahead,
 *   a claim window of seven days), and within each hour the order of the instants (one second
 *   apart), so a countdown or a timeline still reads right.
 */

import type { Fixture, Fixtures } from "../src/fixtures.js";
import { type ClientOperationId, OPERATIONS, operationOf } from "../src/operations.js";
import { headerValue } from "../src/request.js";
import type { Exchange } from "./wx-shim.js";

const BASE_URL = "https://api.example.com";
const BASE_TIME = Date.parse("2026-12-01T10:00:00+08:00");
const HOUR = 3_600_000;
const DATETIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;
const ID = /\b(u|e|p|img|c|s)_[0-9a-z]{16}\b/g;
// A big screen's secret link (live draws): a token in the path.
const SCREEN_TOKEN = /(\/live\/screen\/)([\w-]{20,})(\/)/g;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g;
const HEX64 = /\b[0-9a-f]{64}\b/g;
const MEDIA_FILE = /(\/media\/(?:[\w.-]+\/)*)([\w-]+)\.(jpg|jpeg|png|webp)/g;
const MEDIA_MONTH = /(\/media\/[\w.-]+\/)\d{4}\/\d{2}\//g; // storage folders by upload month
// The headers a mock answer keeps, as the server spells them.
const KEPT_HEADERS = ["Content-Type", "ETag", "Deprecation", "Sunset", "Link"];

export function buildFixtures(
  exchanges: Exchange[],
  baseUrl: string,
  apiVersion: string,
): Fixtures {
  const chosen = new Map<ClientOperationId, Exchange>();
  for (const exchange of [...exchanges].sort((a, b) => a.seq - b.seq)) {
    const operation = operationOf(exchange.method, exchange.url);
    if (operation && exchange.status >= 200 && exchange.status < 300)
      chosen.set(operation, exchange);
  }
  const operations: Partial<Record<ClientOperationId, Fixture>> = {};
  for (const id of Object.keys(OPERATIONS).sort() as ClientOperationId[]) {
    const exchange = chosen.get(id);
    if (!exchange) continue;
    const header: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = headerValue(exchange.responseHeader, name);
      if (value !== undefined) header[name] = value;
    }
    operations[id] = { status: exchange.status, body: bodyOf(exchange), header };
  }
  return normalize({ api_version: apiVersion, operations }, baseUrl);
}

function bodyOf(exchange: Exchange): unknown {
  if (exchange.text === null) return null; // a download went to a file
  try {
    return sortMaps(JSON.parse(exchange.text));
  } catch {
    return exchange.text;
  }
}

// Objects keyed by data, not by field (the quota per template id, in the subscriptions' answer
// and in the data export), come in no fixed order.
const MAPS = new Set(["quota", "subscriptions"]);

function sortMaps(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => sortMaps(item));
  if (!value || typeof value !== "object") return value;
  const entries = Object.entries(value).map(
    ([name, item]) => [name, sortMaps(item, name)] as const,
  );
  if (key && MAPS.has(key)) entries.sort(([a], [b]) => (a < b ? -1 : 1));
  return Object.fromEntries(entries);
}

function normalize(fixtures: Fixtures, baseUrl: string): Fixtures {
  const strings: string[] = [];
  walk(fixtures, (value) => {
    strings.push(value);
    return value;
  });
  const times = timeMap(strings, fixtures);
  const numbered = new Map<string, string>();
  const counters = new Map<string, number>();
  const number = (kind: string, original: string, make: (n: number) => string) => {
    const key = `${kind}:${original}`;
    let found = numbered.get(key);
    if (!found) {
      const n = (counters.get(kind) ?? 0) + 1;
      counters.set(kind, n);
      found = make(n);
      numbered.set(key, found);
    }
    return found;
  };
  return walk(fixtures, (value, key) => {
    if (key === "next" && value) return number("cursor", value, (n) => `cursor-${n}`);
    if (key === "ETag") return number("etag", value, (n) => `"etag-${n}"`);
    // The caller's own WeChat ids, in their data export: one per user and run.
    if ((key === "wechat_openid" || key === "wechat_unionid") && value)
      return number("openid", value, (n) => `openid-${n}`);
    return value
      .split(baseUrl)
      .join(BASE_URL)
      .replace(DATETIME, (time) => times.get(time) ?? time)
      .replace(ID, (id, prefix: string) =>
        number(prefix, id, (n) => `${prefix}_${String(n).padStart(16, "0")}`),
      )
      .replace(SCREEN_TOKEN, (_all, dir: string, token: string, end: string) =>
        `${dir}${number("screen", token, (n) => `screen-token-${n}`)}${end}`,
      )
      .replace(JWT, (token) =>
        number("jwt", token, (n) => `eyJtb2NrIjoidG9rZW4ifQ.mock${n}.signature`),
      )
      .replace(HEX64, (hex) => number("hex", hex, (n) => n.toString(16).padStart(64, "0")))
      .replace(
        MEDIA_FILE,
        (_all, dir: string, name: string, ext: string) =>
          `${dir}${number("file", name, (n) => `picture-${n}`)}.${ext}`,
      )
      .replace(
        MEDIA_MONTH,
        (_all, dir: string) => `${dir}${shanghai(BASE_TIME).slice(0, 7).replace("-", "/")}/`,
      );
  }) as Fixtures;
}

/** Each datetime of the recording -> its stand-in on BASE_TIME (see the module's comment). */
function timeMap(strings: string[], fixtures: Fixtures): Map<string, string> {
  const found = new Set<string>();
  for (const value of strings) for (const match of value.matchAll(DATETIME)) found.add(match[0]);
  const config = fixtures.operations.configGet?.body as
    | { data?: { server_time?: string } }
    | undefined;
  const instants = [...found].map((text) => ({ text, at: Date.parse(text) }));
  const start = config?.data?.server_time
    ? Date.parse(config.data.server_time)
    : Math.min(...instants.map((instant) => instant.at));
  const byHour = new Map<number, number[]>();
  for (const { at } of instants) {
    const hour = Math.round((at - start) / HOUR);
    const list = byHour.get(hour) ?? [];
    if (!list.includes(at)) list.push(at);
    byHour.set(hour, list);
  }
  for (const list of byHour.values()) list.sort((a, b) => a - b);
  const map = new Map<string, string>();
  for (const { text, at } of instants) {
    const hour = Math.round((at - start) / HOUR);
    const rank = byHour.get(hour)!.indexOf(at);
    map.set(text, shanghai(BASE_TIME + hour * HOUR + rank * 1000));
  }
  return map;
}

/** `2026-12-01T10:00:00+08:00`: the API's own rendering, in Asia/Shanghai. */
function shanghai(ms: number): string {
  return new Date(ms + 8 * HOUR).toISOString().replace(/\.\d{3}Z$/, "+08:00");
}

/** Every string of a JSON value through `visit` (with its key), in document order. */
function walk(
  value: unknown,
  visit: (value: string, key?: string) => string,
  key?: string,
): unknown {
  if (typeof value === "string") return visit(value, key);
  if (Array.isArray(value)) return value.map((item) => walk(item, visit));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [name, walk(item, visit, name)]),
    );
  }
  return value;
}

/** The file `src/fixtures.ts` holds. */
export function fixturesModule(fixtures: Fixtures): string {
  return `// Recorded from the SDK's flow against a development server (clients/miniprogram/ci.sh) by
// test/fixtures-recorder.ts: do not edit. To record again: UPDATE_FIXTURES=1 bash ci.sh
import type { ClientOperationId } from "./operations.js";

export interface Fixture {
  status: number;
  body: unknown;
  header?: Record<string, string>;
}

export interface Fixtures {
  api_version: string;
  operations: Partial<Record<ClientOperationId, Fixture>>;
}

export const fixtures: Fixtures = ${JSON.stringify(fixtures, null, 2)};
`;
}
