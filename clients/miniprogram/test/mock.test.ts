/**
 * Mock mode: the SDK against the recorded fixtures, no server. Every operation has a recorded
 * answer (CI records them from the live flow and fails when they differ from the committed
 * ones), every SDK function resolves to it, and an override shows a refusal.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { type Api, createApi } from "../src/api.js";
import { ErrorCode, isApiError } from "../src/errors.js";
import { type ClientOperationId, OPERATIONS } from "../src/operations.js";
import { fixtures, mockWx } from "../src/mock.js";

/** One call of every SDK function, with any ids: the mock answers by operation. */
async function callEverything(api: Api): Promise<void> {
  const e = "e_0000000000000001";
  await api.auth.login({ code: "mock" });
  await api.auth.refresh();
  await api.config.get();
  await api.me.get();
  await api.me.update({ nickname: "小王" });
  await api.me.events({ role: "created" });
  await api.me.data();
  await api.me.acceptPrivacy({ version: "2026-12-01" });
  await api.uploads.create({ filePath: "wxfile://tmp/a.jpg", purpose: "cover" });
  await api.square.list({ sort: "hot" });
  await api.events.create({
    title: "t",
    draw_at: "2026-12-24T20:00:00+08:00",
    prizes: [{ name: "p", quantity: 1 }],
  });
  await api.events.get(e);
  await api.events.update(e, { title: "t2" });
  await api.events.cancel(e, "why");
  await api.events.join(e);
  await api.events.join(e, { password: "open sesame", answer: 1 });
  await api.events.withdraw(e);
  await api.events.entries(e);
  await api.events.draw(e);
  await api.events.proof(e);
  await api.events.winners(e);
  await api.events.entrants(e);
  await api.events.myPosition(e);
  await api.events.share(e);
  await api.events.report(e, "spam");
  await api.events.disqualify(e, "u_0000000000000001", "fake_account");
  await api.events.flags(e);
  await api.events.exclude(e, "u_0000000000000001", "fake_account");
  await api.claims.mine(e);
  await api.claims.submit(e, {});
  await api.claims.correct(e, {});
  await api.claims.list(e, { state: "claimed" });
  await api.claims.listAll(e);
  await api.claims.csv(e);
  await api.claims.downloadXlsx(e);
  await api.claims.ship(e, "c_0000000000000001", { carrier: "顺丰", tracking_number: "SF1" });
  await api.notifications.list();
  await api.notifications.markRead();
  await api.subscriptions.get();
  await api.subscriptions.accept(["tmpl-result"]);
  await api.live.start(e);
  await api.live.get(e);
  await api.live.messages(e, 0);
  await api.live.lock(e);
  await api.live.pause(e);
  await api.live.resume(e);
  await api.live.nextRound(e);
  await api.live.end(e);
  await api.live.proof(e);
  await api.live.addScreen(e);
  await api.live.screens(e);
  await api.live.revokeScreen(e, "s_0000000000000001");
  await api.auth.logout();
  await api.me.delete(); // forgets the tokens too
}

test("every operation has a recorded answer", () => {
  const missing = Object.keys(OPERATIONS).filter(
    (id) => !fixtures.operations[id as ClientOperationId],
  );
  assert.deepEqual(missing, [], "record the fixtures: UPDATE_FIXTURES=1 bash ci.sh");
});

test("every SDK function works against the mock, with the recorded data", async () => {
  const seen = new Set<string>();
  const api = createApi({
    baseUrl: "https://mock.invalid",
    wx: mockWx(fixtures, { onRequest: (operation) => operation && seen.add(operation) }),
    onDeprecation: () => undefined,
  });
  await callEverything(api);
  assert.deepEqual(
    Object.keys(OPERATIONS).filter((id) => !seen.has(id)),
    [],
  );
  const event = await api.events.get("e_anything");
  assert.equal(event.id, (fixtures.operations.eventGet?.body as { data: { id: string } }).data.id);
  const entrants = await api.events.entrants("e_anything");
  assert.match(entrants, /^u_/);
});

test("an override answers a refusal, typed like the server's", async () => {
  const api = createApi({
    baseUrl: "https://mock.invalid",
    wx: mockWx(fixtures, {
      overrides: {
        eventJoin: {
          status: 409,
          body: { code: ErrorCode.EventLocked, msg: "活动已锁定，不能再参与或修改", data: null },
        },
      },
    }),
  });
  const error = await api.events.join("e_1").catch((e: unknown) => e);
  assert.ok(isApiError(error, ErrorCode.EventLocked));
});
