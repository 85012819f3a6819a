/**
 * The whole mini-program flow through the SDK, against a running server (LOTTERY_API_URL, as
 * ci.sh starts it: development mode, WeChat faked on loopback, draws run in the request). The
 * wx shim behaves like WeChat's (no PATCH, no DELETE body, uploadFile's `data` a string), so
 * this also proves every step is reachable from a mini-program.
 *
 * Every SDK function is called at least once (checked at the end against operations.ts), the
 * uploads with a real JPEG through the shim's uploadFile. With SDK_FIXTURES_OUT set, the
 * answers are written there as the mock's fixtures (test/fixtures-recorder.ts).
 */

import assert from "node:assert/strict";
import { createCipheriv, createHash, randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { after, test } from "node:test";

import { type Api, type Config, type ConditionsInput, createApi } from "../src/api.js";
import { chooseAddress, openClaimsWorkbook } from "../src/claims.js";
import { ServerClock, countdown } from "../src/clock.js";
import { ApiError, CanceledError, ErrorCode, isApiError } from "../src/errors.js";
import { eventIdFromQuery } from "../src/launch.js";
import { type ClientOperationId, OPERATIONS, operationOf } from "../src/operations.js";
import { collectAll, pager } from "../src/pager.js";
import { waitForPhase } from "../src/phases.js";
import { chooseAndUpload, setAvatar, uploadPicture } from "../src/pictures.js";
import { type DeprecationNotice, cancellation } from "../src/request.js";
import { subscribe } from "../src/subscribe.js";
import { API_VERSION, isApiCompatible } from "../src/version.js";
import { buildFixtures, fixturesModule } from "./fixtures-recorder.js";
import { PHOTO, Recorder, type WxShim, wxShim } from "./wx-shim.js";

const baseUrl = process.env.LOTTERY_API_URL ?? "";
const inCi = ["1", "true", "yes"].includes((process.env.CI ?? "").toLowerCase());
if (!baseUrl && inCi) {
  throw new Error("LOTTERY_API_URL must name a running server in CI (clients/miniprogram/ci.sh)");
}
const run = randomUUID().slice(0, 8);
const recorder = new Recorder();
const errors: unknown[] = [];
const deprecations: DeprecationNotice[] = [];

interface User {
  api: Api;
  wx: WxShim;
  code: string;
  login: () => ReturnType<Api["auth"]["login"]>;
}

// The privacy policy the server requires (`privacy_policy.version` of /config; ci.sh sets one):
// a user accepts it on the login page and the login sends it.
let policy = "";

function client(name: string, { accepts = true }: { accepts?: boolean } = {}): User {
  const wx = wxShim({ recorder });
  const code = `sdk-${name}-${run}`; // the (fake) WeChat login: one code, one user
  let api: Api;
  api = createApi({
    baseUrl,
    wx,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    login: () => api.auth.login({ code }),
    onError: (error) => errors.push(error),
    onDeprecation: (notice) => deprecations.push(notice),
  });
  const login = () =>
    api.auth.login({
      code,
      nickname: name,
      ...(accepts && policy ? { privacy_version: policy } : {}),
    });
  return { api, wx, code, login };
}

/**
 * What `wx.getGroupEnterInfo` gives `user` inside group `opengid`: WeChat encrypts it with the
 * user's session_key (AES-128-CBC, PKCS#7), which only the server holds. ci.sh's fake WeChat
 * makes that key from the login code (tests/fake_wechat.py, `session_key_for`), so the flow can
 * make the data WeChat would. No watermark, as in the chat-tool mode's data.
 */
function groupEnterInfo(user: User, opengid: string): { encrypted_data: string; iv: string } {
  const key = createHash("sha256").update(`session:${user.code}`).digest().subarray(0, 16);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-cbc", key, iv);
  const plain = JSON.stringify({ opengid, chat_type: 3 });
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return { encrypted_data: data.toString("base64"), iv: iv.toString("base64") };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("timed out waiting");
}

async function refusal(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => assert.fail("expected a refusal"),
    (error: unknown) => error,
  );
}

test(
  "the whole flow from a mini-program",
  { skip: !baseUrl && "no LOTTERY_API_URL" },
  async (t) => {
    const creator = client("creator");
    const entrant = client("entrant");
    const outsider = client("outsider");

    let config!: Config;
    let clock!: ServerClock;
    await t.test("config: versions, server clock, ETag revalidation", async () => {
      config = await creator.api.config.get();
      clock = ServerClock.fromConfig(config);
      policy = config.privacy_policy.version;
      assert.equal(config.api_version, API_VERSION);
      assert.ok(isApiCompatible(config.api_version));
      let status = 0;
      const again = await creator.api.config.get({
        onResponse: (response) => (status = response.status),
      });
      assert.equal(status, 304); // unchanged: the copy kept, with the Date header's time
      assert.deepEqual(again.limits, config.limits);
      assert.ok(Math.abs(Date.parse(again.server_time) - clock.now()) < 5000);
    });
    const lead = config.limits.min_draw_lead_seconds;
    const drawAt = new Date(clock.now() + (lead + 3600) * 1000).toISOString();

    // Someone who has not accepted the privacy policy yet (it changed since, say), deleted at
    // the end of the flow. First in, so that the mock's fixtures (each operation's last
    // successful answer) are the other users'.
    const leaving = client("leaving", { accepts: false });
    let leavingId = "";
    await t.test(
      "privacy consent: asked for before anything else, accepted once, the tokens work on",
      async () => {
        assert.ok(policy, "ci.sh runs the server with PRIVACY_POLICY_VERSION");
        const { user } = await leaving.login();
        leavingId = user.id;
        assert.equal(user.privacy_consent_required, true);
        const error = await refusal(leaving.api.me.events());
        assert.ok(isApiError(error, ErrorCode.PrivacyConsentRequired));
        assert.equal(error.data.version, policy);
        const outdated = await refusal(leaving.api.me.acceptPrivacy({ version: "2000-01-01" }));
        assert.ok(isApiError(outdated, ErrorCode.PrivacyVersionOutdated));
        assert.equal(outdated.data.version, policy);
        const me = await leaving.api.me.acceptPrivacy({ version: policy });
        assert.equal(me.privacy_consent_required, false);
        assert.equal(me.privacy_version, policy);
        await leaving.api.me.events(); // the same token, no refresh
      },
    );

    await t.test("login, profile, avatar from an upload's id (finding 2)", async () => {
      const first = await creator.login();
      assert.equal(first.user.nickname, "creator");
      await entrant.login();
      await outsider.login();
      const me = await creator.api.me.update({ nickname: "创建者" });
      assert.equal(me.nickname, "创建者");
      // <button open-type="chooseAvatar"> hands over a temporary file: upload it, use its id.
      const withAvatar = await setAvatar(creator.api, creator.wx, PHOTO);
      assert.ok(withAvatar.avatar, "the avatar is the upload, not a URL left to be swept");
      assert.equal(withAvatar.avatar.width, 256);
      const reread = await creator.api.me.get();
      assert.equal(reread.avatar?.url, withAvatar.avatar.url);
      assert.equal(reread.nickname, "创建者");
    });

    let eventId = "";
    let coverId = "";
    await t.test("create with pictures: chooseMedia -> compressImage -> uploadFile", async () => {
      const progress: number[] = [];
      const cover = await chooseAndUpload(creator.api, creator.wx, "cover", {
        onProgress: (p) => progress.push(p.progress),
      });
      assert.ok(cover && cover.id.startsWith("img_"));
      assert.equal(progress.at(-1), 100);
      coverId = cover.id;
      const prizeImage = await uploadPicture(creator.api, creator.wx, PHOTO, "prize");
      const event = await creator.api.events.create({
        title: "SDK 抽奖",
        draw_at: drawAt,
        draw_mode: "manual",
        delivery: "shipping",
        visibility: "public",
        cover: cover.id,
        prizes: [{ name: "iPad Air", quantity: 1, image: prizeImage.id }],
      });
      eventId = event.id;
      assert.equal(event.status, "init");
      assert.equal(event.cover?.width, 320);
      assert.ok(event.prizes[0]?.image);
      const edited = await creator.api.events.update(eventId, { title: "SDK 抽奖（改）" });
      assert.equal(edited.title, "SDK 抽奖（改）");
      assert.ok(countdown(edited.lock_at, clock).totalMs > 3_000_000);
    });

    await t.test("share, and a scanned code opens the detail page (finding 4)", async () => {
      const share = await creator.api.events.share(eventId);
      assert.equal(
        eventIdFromQuery(Object.fromEntries(new URLSearchParams(share.path.split("?")[1]))),
        eventId,
      );
      assert.ok(share.image.url && share.image.width > 0);
      // A scan of share.image opens the page with scene = the event id, encoded, and no id.
      const scanned = eventIdFromQuery({ scene: encodeURIComponent(eventId) });
      assert.equal(scanned, eventId);
      assert.equal((await outsider.api.events.get(scanned!)).id, eventId);
    });

    await t.test("the square lists the public event; its ETag saves a body", async () => {
      const square = await until(
        () => outsider.api.square.list({ sort: "new" }),
        (page) => page.results.some((item) => item.id === eventId),
      );
      assert.equal(square.results.find((item) => item.id === eventId)?.title, "SDK 抽奖（改）");
      let fromCache = false;
      await outsider.api.square.list(
        { sort: "new" },
        { onResponse: (r) => (fromCache = r.fromCache) },
      );
      assert.ok(fromCache, "unchanged page: 304, the copy kept");
      const all = await collectAll((cursor) =>
        outsider.api.square.list({ sort: "soon", page_size: 1, ...(cursor ? { cursor } : {}) }),
      );
      assert.ok(all.some((item) => item.id === eventId));
    });

    await t.test(
      "subscribe from the join tap (<= 3 templates), then join (finding 5)",
      async () => {
        const prompt = subscribe(entrant.api, entrant.wx, config); // first thing in the tap
        assert.equal(entrant.wx.subscribePrompts.length, 1, "asked before anything was awaited");
        const joined = await entrant.api.events.join(eventId);
        assert.equal(joined.joined, true);
        const { accepted, quota } = await prompt;
        assert.ok(accepted.length > 0 && accepted.length <= 3);
        assert.equal(quota?.[accepted[0]!], 1);
        assert.equal((await entrant.api.subscriptions.get()).quota[accepted[0]!], 1);
        assert.equal((await entrant.api.events.join(eventId)).joined, true); // idempotent
        assert.equal((await entrant.api.events.withdraw(eventId)).joined, false);
        await entrant.api.events.join(eventId);
        const entries = await entrant.api.events.entries(eventId, { page_size: 10 });
        assert.equal(entries.results.length, 1);
        const mine = await entrant.api.me.events({ role: "joined" });
        assert.ok(mine.results.some((item) => item.id === eventId));
      },
    );

    await t.test("report an event", async () => {
      const report = await outsider.api.events.report(eventId, "spam");
      assert.equal(report.reason, "spam");
      assert.equal((await outsider.api.events.report(eventId, "fraud")).reason, "spam"); // once
    });

    await t.test(
      "entry conditions: each unmet one refused by its code, a join that meets them all",
      async () => {
        const group = `tG-sdk-${run}`;
        const guarded = await creator.api.events.create({
          title: "群抽奖",
          draw_at: drawAt,
          prizes: [{ name: "红包", quantity: 1 }],
          conditions: {
            password: "芝麻开门",
            group: groupEnterInfo(creator, group),
            new_users: { rule: "within_days", days: 7 },
            question: { text: "本店的招牌菜是？", choices: ["宫保鸡丁", "麻婆豆腐"], answer: 1 },
            risk: { threshold: 3, when_unavailable: "admit" },
          },
        });
        assert.deepEqual(guarded.conditions.map((condition) => condition.kind).sort(), [
          "group",
          "new_users",
          "password",
          "question",
          "risk",
        ]);
        const question = guarded.conditions.find((condition) => condition.kind === "question");
        assert.deepEqual(question?.choices, ["宫保鸡丁", "麻婆豆腐"]); // never the answer
        const forbidden = await refusal(
          creator.api.events.update(guarded.id, {
            conditions: { require_follow: true } as ConditionsInput,
          }),
        );
        // WeChat's rule 5.1, refused by name.
        assert.ok(isApiError(forbidden, ErrorCode.RuleFollowForbidden), String(forbidden));
        const edited = await creator.api.events.update(guarded.id, {
          conditions: { password: "Open Sesame" },
        });
        assert.equal(edited.conditions.length, 5);

        const id = guarded.id;
        const mine = () => groupEnterInfo(outsider, group);
        // In the server's order: new users, the question, the password, the group, the risk.
        const none = await refusal(outsider.api.events.join(id));
        assert.ok(isApiError(none, ErrorCode.EntryAnswerRequired), String(none));
        const noPassword = await refusal(outsider.api.events.join(id, { answer: 1 }));
        assert.ok(isApiError(noPassword, ErrorCode.EntryPasswordRequired), String(noPassword));
        const wrong = await refusal(
          outsider.api.events.join(id, { password: "open sesame!", answer: 1, group: mine() }),
        );
        assert.ok(isApiError(wrong, ErrorCode.EntryPasswordWrong), String(wrong));
        const answer = await refusal(
          outsider.api.events.join(id, { password: "open sesame", answer: 0, group: mine() }),
        );
        assert.ok(isApiError(answer, ErrorCode.EntryAnswerWrong), String(answer));
        const elsewhere = await refusal(
          outsider.api.events.join(id, {
            password: "open sesame",
            answer: 1,
            group: groupEnterInfo(outsider, "tG-another-group"),
          }),
        );
        assert.ok(isApiError(elsewhere, ErrorCode.EntryGroupMismatch), String(elsewhere));
        // Compared ignoring case, width and spaces; the risk rank asked of WeChat (0 here).
        const joined = await outsider.api.events.join(id, {
          password: " ＯＰＥＮ  sesame ",
          answer: 1,
          group: mine(),
        });
        assert.equal(joined.joined, true);
        const frozen = await refusal(
          creator.api.events.update(id, { conditions: { password: null } }),
        );
        assert.ok(isApiError(frozen, ErrorCode.ConditionsFrozen), String(frozen));

        // Every account of the flow is minutes old: flagged new_account for the creator.
        const outsiderId = (await outsider.api.me.get()).id;
        const flags = await creator.api.events.flags(id);
        const flagged = flags.flagged.find((flag) => flag.entrant === outsiderId);
        assert.ok(flagged?.reasons.includes("new_account"));
        const notYours = await refusal(outsider.api.events.flags(id));
        assert.ok(isApiError(notYours, ErrorCode.NotOwner), String(notYours));
        const excluded = await creator.api.events.exclude(id, outsiderId, "fake_account");
        assert.equal(excluded.entrant, outsiderId);
        assert.equal(excluded.reason, "fake_account");
        assert.ok(excluded.flags.includes("new_account"));
        const again = await creator.api.events.exclude(id, outsiderId, "fake_account");
        assert.equal(again.excluded_at, excluded.excluded_at); // the same exclusion
        assert.deepEqual((await creator.api.events.flags(id)).excluded, [
          { reason: "fake_account", count: 1 },
        ]);
        const out = await refusal(
          outsider.api.events.join(id, { password: "open sesame", answer: 1, group: mine() }),
        );
        assert.ok(isApiError(out, ErrorCode.EntryExcluded), String(out));
      },
    );

    await t.test("refusals are typed errors by code", async () => {
      const notYours = await refusal(outsider.api.events.cancel(eventId, "no"));
      assert.ok(isApiError(notYours, ErrorCode.NotOwner));
      const invalid = await refusal(
        creator.api.events.create({ title: "", draw_at: drawAt, prizes: [] }),
      );
      assert.ok(isApiError(invalid, ErrorCode.InvalidInput));
      assert.ok(invalid.data.title && invalid.firstFieldError());
      const missing = await refusal(entrant.api.events.get("e_doesnotexist"));
      assert.ok(isApiError(missing, ErrorCode.EventNotFound));
      const foreign = await refusal(outsider.api.events.update(eventId, { cover: coverId }));
      assert.ok(isApiError(foreign, ErrorCode.NotOwner));
      const unusable = await refusal(outsider.api.me.update({ avatar: coverId }));
      assert.ok(isApiError(unusable, ErrorCode.UploadUnusable));
      assert.equal(unusable.firstFieldError(), coverId); // the field map of 40033
    });

    await t.test("cancel with a reason (POST, not a DELETE body)", async () => {
      const other = await creator.api.events.create({
        title: "要取消的活动",
        draw_at: drawAt,
        prizes: [{ name: "京东卡", quantity: 2 }],
      });
      const canceled = await creator.api.events.cancel(other.id, "奖品缺货");
      assert.equal(canceled.status, "canceled");
      assert.equal(canceled.cancel_reason, "奖品缺货");
    });

    await t.test(
      "draw, wait for the phase by the server's clock, winners, proof (finding 6)",
      async () => {
        const proof = await creator.api.events.draw(eventId);
        assert.equal(proof.event_id, eventId);
        const drawn = await waitForPhase(entrant.api, eventId, "opened", {
          clock,
          lockLeadSeconds: config.limits.lock_lead_seconds,
          revealGapSeconds: 0, // ci.sh's server has none
          pollMs: 200,
        });
        assert.equal(drawn.phase, "opened");
        assert.equal(drawn.my_entry.prize?.name, "iPad Air");
        const winners = await outsider.api.events.winners(eventId);
        assert.equal(winners.winners.length, 1);
        const published = await outsider.api.events.proof(eventId);
        assert.ok(published.seed);
        const entrants = await outsider.api.events.entrants(eventId);
        assert.equal(
          createHash("sha256").update(entrants).digest("hex"),
          published.entrants_digest,
        );
        const position = await entrant.api.events.myPosition(eventId);
        assert.equal(position.included, true);
        assert.equal(position.entrant_count, 1);
        const won = await entrant.api.me.events({ role: "won" });
        assert.ok(won.results.some((item) => item.id === eventId));
      },
    );

    let claimId = "";
    await t.test("the winner claims with wx.chooseAddress, corrects it (finding 10)", async () => {
      assert.equal((await entrant.api.claims.mine(eventId)).state, "unclaimed");
      const address = await chooseAddress(entrant.wx);
      assert.ok(address);
      const claimed = await entrant.api.claims.submit(eventId, { address });
      assert.equal(claimed.state, "claimed");
      claimId = claimed.id ?? "";
      const corrected = await entrant.api.claims.correct(eventId, {
        address: { ...address, detail: "体育西路 2 号" },
      });
      assert.equal(corrected.state, "claimed");
    });

    await t.test(
      "the creator pages the claims, exports an xlsx the phone opens, ships",
      async () => {
        const toShip = await collectAll((cursor) =>
          creator.api.claims.list(eventId, {
            state: "claimed",
            page_size: 1,
            ...(cursor ? { cursor } : {}),
          }),
        );
        assert.equal(toShip.length, 1);
        assert.equal(toShip[0]?.address?.detail, "体育西路 2 号");
        const unclaimed = pager((cursor) =>
          creator.api.claims.list(eventId, { state: "unclaimed", ...(cursor ? { cursor } : {}) }),
        );
        assert.deepEqual(await unclaimed.next(), []);
        const old = await creator.api.claims.listAll(eventId); // deprecated: still the old shape
        assert.equal(old.length, 1);
        assert.ok(deprecations.some((notice) => notice.path.endsWith("/claims") && notice.sunset));
        const csv = await creator.api.claims.csv(eventId, { state: "claimed" });
        assert.match(csv, /^user,prize,state,deadline,name,phone/);
        const file = await openClaimsWorkbook(creator.api, creator.wx, eventId, {
          state: "claimed",
        });
        assert.deepEqual(creator.wx.openedDocuments, [{ filePath: file, fileType: "xlsx" }]);
        await assert.rejects(
          new Promise<void>((resolve, reject) =>
            creator.wx.openDocument({
              filePath: file,
              fileType: "csv" as "xlsx",
              success: resolve,
              fail: reject,
            }),
          ),
          "WeChat opens no CSV",
        );
        const shipped = await creator.api.claims.ship(eventId, claimId, {
          carrier: "顺丰",
          tracking_number: "SF0000000000",
        });
        assert.equal(shipped.state, "shipped");
        assert.equal((await entrant.api.claims.mine(eventId)).carrier, "顺丰");
      },
    );

    await t.test("the inbox", async () => {
      const inbox = await until(
        () => entrant.api.notifications.list({ page_size: 20 }),
        (page) => page.results.some((item) => item.kind === "shipped"),
      );
      const result = inbox.results.find((item) => item.kind === "result");
      assert.equal(result?.prize?.name, "iPad Air");
      const read = await entrant.api.notifications.markRead();
      assert.equal(read.unread_count, 0);
    });

    await t.test(
      "the creator disqualifies a winner: the prize passes on (or stays unawarded)",
      async () => {
        const other = await creator.api.events.create({
          title: "取消资格",
          draw_at: drawAt,
          draw_mode: "manual",
          prizes: [{ name: "京东卡", quantity: 1 }],
        });
        await outsider.api.events.join(other.id);
        await creator.api.events.draw(other.id);
        await waitForPhase(outsider.api, other.id, "opened", {
          clock,
          revealGapSeconds: 0,
          pollMs: 200,
        });
        const me = await outsider.api.me.get();
        const substitution = await creator.api.events.disqualify(other.id, me.id, "fake_account");
        assert.equal(substitution.replaced, me.id);
        assert.equal(substitution.replacement, null); // nobody else joined
      },
    );

    await t.test(
      "an expired token is refreshed once for concurrent calls, an upload too (finding 3)",
      async () => {
        const tokens = entrant.api.tokens.get();
        assert.ok(tokens);
        entrant.api.tokens.set({ ...tokens, access: "expired.or.forged" });
        const before = entrant.wx.log.length;
        const answers = await Promise.all([
          entrant.api.me.get(),
          entrant.api.events.get(eventId),
          entrant.api.notifications.list(),
        ]);
        assert.equal(answers.length, 3);
        const refreshes = entrant.wx.log
          .slice(before)
          .filter((exchange) => exchange.url.endsWith("/auth/refresh"));
        assert.equal(refreshes.length, 1);
        assert.notEqual(entrant.api.tokens.get()?.refresh, tokens.refresh);

        const current = entrant.api.tokens.get()!;
        entrant.api.tokens.set({ ...current, access: "expired.again" });
        const upload = await entrant.api.uploads.create({ filePath: PHOTO, purpose: "avatar" });
        assert.ok(upload.id.startsWith("img_"));
        const explicit = await entrant.api.auth.refresh();
        assert.ok(explicit.access);
      },
    );

    await t.test(
      "my data, then deleting the account: the tokens are forgotten, a second delete is told",
      async () => {
        const mine = await leaving.api.me.data();
        assert.equal(mine.profile.id, leavingId);
        assert.deepEqual(mine.consents.map((consent) => consent.version), [policy]);
        const tokens = leaving.api.tokens.get();
        const deleted = await leaving.api.me.delete();
        assert.ok(Date.parse(deleted.deleted_at) > 0);
        assert.equal(leaving.api.tokens.get(), null); // do not log in again for the user
        leaving.api.tokens.set(tokens); // a client that kept them: the account is gone
        const again = await refusal(leaving.api.me.delete());
        assert.ok(isApiError(again, ErrorCode.UserInactive));
        assert.equal(leaving.api.tokens.get(), null);
      },
    );
    await t.test("a live draw: the host's commands, polling, the screens' links", async () => {
      const party = await creator.api.events.create({
        title: "年会现场",
        draw_at: drawAt,
        draw_mode: "manual",
        prizes: [{ name: "一等奖", quantity: 1 }],
      });
      const started = await creator.api.live.start(party.id);
      assert.equal(started.phase, "open");
      await outsider.api.events.join(party.id);
      const screen = await creator.api.live.addScreen(party.id);
      assert.ok(screen.url);
      assert.deepEqual(
        (await creator.api.live.screens(party.id)).map((link) => link.id),
        [screen.id],
      );
      const revoked = await creator.api.live.revokeScreen(party.id, screen.id);
      assert.ok(revoked.revoked_at);
      await creator.api.live.lock(party.id);
      assert.equal((await creator.api.live.pause(party.id)).phase, "paused");
      assert.equal((await creator.api.live.resume(party.id)).phase, "locked");
      await creator.api.live.nextRound(party.id);
      const log = await until(
        () => outsider.api.live.messages(party.id, 0),
        (page) => page.messages.some((message) => message.type === "round_drawn"),
      );
      assert.equal(log.messages[0]?.type, "started");
      await creator.api.live.end(party.id);
      assert.equal((await outsider.api.live.get(party.id)).phase, "ended");
      const proofs = await outsider.api.live.proof(party.id);
      assert.equal(proofs.rounds.length, 1);
    });

    await t.test("a canceled call rejects with CanceledError", async () => {
      const control = cancellation();
      const pending = outsider.api.events.get(eventId, { signal: control.signal });
      control.cancel();
      await assert.rejects(pending, CanceledError);
    });

    await t.test("every answer echoes the request id the SDK sent", () => {
      for (const exchange of [...creator.wx.log, ...entrant.wx.log, ...outsider.wx.log]) {
        assert.equal(
          exchange.responseHeader["x-request-id"],
          exchange.requestHeader["X-Request-ID"],
        );
      }
    });

    await t.test("logout blacklists the refresh token", async () => {
      const refresh = creator.api.tokens.get()?.refresh ?? "";
      await creator.api.auth.logout();
      assert.equal(creator.api.tokens.get(), null);
      creator.api.tokens.set({ access: "x", refresh });
      const error = await refusal(creator.api.auth.refresh());
      assert.ok(isApiError(error, ErrorCode.TokenInvalid));
    });

    await t.test("onError saw only what was thrown to the flow", () => {
      // The refusals asked for above and the final refresh; nothing the SDK recovered from.
      assert.ok(errors.every((error) => error instanceof ApiError));
      assert.ok(
        !errors.some(
          (error) =>
            error instanceof ApiError &&
            error.code === ErrorCode.TokenInvalid &&
            error !== errors.at(-1),
        ),
      );
    });

    await t.test("every SDK function was called, through wx, against the server", () => {
      const called = new Set<ClientOperationId>();
      for (const exchange of recorder.exchanges) {
        const operation = operationOf(exchange.method, exchange.url);
        if (operation) called.add(operation);
      }
      const missing = (Object.keys(OPERATIONS) as ClientOperationId[])
        .filter((id) => !called.has(id))
        .map((id) => `${OPERATIONS[id].sdk} (${id})`);
      assert.deepEqual(missing, [], "never called in the flow");
    });
  },
);

after(() => {
  const out = process.env.SDK_FIXTURES_OUT;
  if (!out || !baseUrl) return;
  const version = JSON.parse(
    recorder.exchanges.find(
      (exchange) => exchange.url.endsWith("/api/v1/config") && exchange.status === 200,
    )?.text ?? "{}",
  )?.data?.api_version as string;
  writeFileSync(out, fixturesModule(buildFixtures(recorder.exchanges, baseUrl, version)));
});
