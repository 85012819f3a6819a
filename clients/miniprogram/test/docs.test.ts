/**
 * The guides a mini-program team follows (docs/miniprogram.md, docs/api.md) on the points where
 * following them broke (issue 23, findings 2, 4, 5, 6, 10). Their code is held to the SDK and
 * the example elsewhere; here, what the prose and snippets tell a team to do.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const docs = new URL("../../../../docs/", import.meta.url);
const guide = readFileSync(new URL("miniprogram.md", docs), "utf8");
const api = readFileSync(new URL("api.md", docs), "utf8");

/** The fenced code blocks of a Markdown text. */
function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

test("no snippet sends PATCH through wx.request, which has none (finding 2)", () => {
  for (const code of [...blocks(api), ...blocks(guide)]) {
    if (!code.includes("wx.request")) continue;
    assert.doesNotMatch(code, /method:\s*['"]PATCH['"]/, code);
  }
});

test("the guide sets the avatar by the upload's id, never its URL as avatar_url (finding 2)", () => {
  for (const code of blocks(guide)) assert.doesNotMatch(code, /avatar_url:\s*upload/i, code);
  assert.match(guide, /setAvatar\(api, wx, /);
  assert.match(api, /\{"avatar": "img_…"\}/);
});

test("the guide's detail page reads a scanned code's scene, not only the id (finding 4)", () => {
  const onLoads = blocks(guide).filter((code) => code.includes("onLoad("));
  assert.ok(onLoads.length > 0);
  for (const code of onLoads) {
    assert.ok(code.includes("eventIdFromQuery(") || code.includes("scene"), code);
  }
});

test("both guides ask for subscribe consent inside the tap, for at most 3 templates (finding 5)", () => {
  assert.doesNotMatch(api, /right after `POST \/api\/v1\/events\/\{id\}\/entry` succeeds/);
  assert.match(api, /at most \*\*3\*\* template ids/);
  for (const code of blocks(guide)) {
    // No prompt for every configured template: `subscribe` asks for at most 3.
    assert.doesNotMatch(code, /tmplIds:\s*Object\.values\(config\.subscribe_templates\)/, code);
  }
  assert.match(guide, /subscribe\(api, wx, currentConfig\(\)!\); \/\/ first, inside the tap/);
});

test("the result loop waits by the server's clock and checks phase, not status (finding 6)", () => {
  for (const code of blocks(guide)) assert.doesNotMatch(code, /\.status === "opening"/, code);
  assert.match(guide, /waitForPhase\(api, id, "opened"/);
  assert.doesNotMatch(api, /usually the first poll/);
});

test("the guide names the upload and download legal domains besides the request one (finding 10)", () => {
  assert.match(guide, /\*uploadFile\* \(pictures\)/);
  assert.match(guide, /\*downloadFile\* \(the creator's claims/);
});

test("the guide states the deprecation policy and its headers (finding 8)", () => {
  assert.match(guide, /\*\*Deprecation policy\.\*\*/);
  assert.match(guide, /Deprecation: @\d+/);
  assert.match(guide, /Sunset: /);
});
