/**
 * Every operation of the API, by its OpenAPI `operationId`: the method and path the SDK sends,
 * and the SDK function that calls it; or why a mini-program never calls it.
 *
 * The compiler holds this table to the generated `schema.d.ts`: an operation added to the API
 * (and the types regenerated) that is in neither list fails `npm run build`, and
 * test/coverage.test.ts fails on the OpenAPI document itself, before the types are regenerated.
 * `api.ts` builds its calls from this table, and the mock (`mockWx`) finds operations by it.
 */

import type { operations } from "./schema.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface OperationSpec {
  method: Method;
  /** Under /api/v1, with `{name}` for path parameters, as the OpenAPI document writes it. */
  path: string;
  /** The SDK function, `group.name` of `createApi(...)`. */
  sdk: string;
  /** How it travels: a wx.request with a JSON answer (default), an upload or a download. */
  via?: "uploadFile" | "downloadFile" | "text";
  /** No token sent (`security: []`): a stale token cannot make it fail. */
  public?: true;
}

/** What a mini-program does not call, and why. */
export const NOT_FOR_MINIPROGRAMS = {
  wechatCallback: "WeChat's servers push media-check verdicts to it",
  wechatCallbackVerify: "WeChat's servers check the push URL with it",
  eventPatch: "PATCH, which wx.request cannot send: eventUpdate (PUT) is the same",
  mePatch: "PATCH, which wx.request cannot send: meUpdate (PUT) is the same",
  eventDelete: "the body-less twin of eventCancel, which also carries the reason",
} as const satisfies Partial<Record<keyof operations, string>>;

export type ClientOperationId = Exclude<keyof operations, keyof typeof NOT_FOR_MINIPROGRAMS>;

export const OPERATIONS = {
  authLogin: { method: "POST", path: "/auth/login", sdk: "auth.login", public: true },
  authRefresh: { method: "POST", path: "/auth/refresh", sdk: "auth.refresh", public: true },
  authLogout: { method: "POST", path: "/auth/logout", sdk: "auth.logout", public: true },
  configGet: { method: "GET", path: "/config", sdk: "config.get", public: true },
  meGet: { method: "GET", path: "/me", sdk: "me.get" },
  meUpdate: { method: "PUT", path: "/me", sdk: "me.update" },
  meEventList: { method: "GET", path: "/me/events", sdk: "me.events" },
  meDataGet: { method: "GET", path: "/me/data", sdk: "me.data" },
  meDelete: { method: "DELETE", path: "/me", sdk: "me.delete" },
  mePrivacyConsent: { method: "POST", path: "/me/privacy-consent", sdk: "me.acceptPrivacy" },
  uploadCreate: { method: "POST", path: "/uploads", sdk: "uploads.create", via: "uploadFile" },
  squareList: { method: "GET", path: "/square", sdk: "square.list", public: true },
  eventCreate: { method: "POST", path: "/events", sdk: "events.create" },
  eventGet: { method: "GET", path: "/events/{event_id}", sdk: "events.get" },
  eventUpdate: { method: "PUT", path: "/events/{event_id}", sdk: "events.update" },
  eventCancel: { method: "POST", path: "/events/{event_id}/cancel", sdk: "events.cancel" },
  eventJoin: { method: "POST", path: "/events/{event_id}/entry", sdk: "events.join" },
  eventWithdraw: { method: "DELETE", path: "/events/{event_id}/entry", sdk: "events.withdraw" },
  eventEntryList: { method: "GET", path: "/events/{event_id}/entries", sdk: "events.entries" },
  eventDraw: { method: "POST", path: "/events/{event_id}/draw", sdk: "events.draw" },
  eventProof: {
    method: "GET",
    path: "/events/{event_id}/proof",
    sdk: "events.proof",
    public: true,
  },
  eventWinners: {
    method: "GET",
    path: "/events/{event_id}/winners",
    sdk: "events.winners",
    public: true,
  },
  eventEntrants: {
    method: "GET",
    path: "/events/{event_id}/entrants",
    sdk: "events.entrants",
    via: "text",
    public: true,
  },
  eventEntrantsMeGet: {
    method: "GET",
    path: "/events/{event_id}/entrants/me",
    sdk: "events.myPosition",
  },
  eventShareGet: { method: "GET", path: "/events/{event_id}/share", sdk: "events.share" },
  eventReport: { method: "POST", path: "/events/{event_id}/report", sdk: "events.report" },
  eventWinnerDisqualify: {
    method: "POST",
    path: "/events/{event_id}/winners/{user_id}/disqualify",
    sdk: "events.disqualify",
  },
  eventFlags: { method: "GET", path: "/events/{event_id}/flags", sdk: "events.flags" },
  eventExclude: { method: "POST", path: "/events/{event_id}/exclusions", sdk: "events.exclude" },
  eventClaimRetrieve: { method: "GET", path: "/events/{event_id}/claim", sdk: "claims.mine" },
  eventClaimCreate: { method: "POST", path: "/events/{event_id}/claim", sdk: "claims.submit" },
  eventClaimUpdate: { method: "PUT", path: "/events/{event_id}/claim", sdk: "claims.correct" },
  eventClaimRowList: { method: "GET", path: "/events/{event_id}/claim-rows", sdk: "claims.list" },
  eventClaimsList: { method: "GET", path: "/events/{event_id}/claims", sdk: "claims.listAll" },
  eventClaimsCsv: {
    method: "GET",
    path: "/events/{event_id}/claims.csv",
    sdk: "claims.csv",
    via: "text",
  },
  eventClaimsXlsx: {
    method: "GET",
    path: "/events/{event_id}/claims.xlsx",
    sdk: "claims.downloadXlsx",
    via: "downloadFile",
  },
  eventClaimShip: {
    method: "POST",
    path: "/events/{event_id}/claims/{claim_id}/ship",
    sdk: "claims.ship",
  },
  notificationList: { method: "GET", path: "/me/notifications", sdk: "notifications.list" },
  notificationMarkRead: {
    method: "POST",
    path: "/me/notifications/read",
    sdk: "notifications.markRead",
  },
  liveGet: { method: "GET", path: "/events/{event_id}/live", sdk: "live.get", public: true },
  liveStart: { method: "POST", path: "/events/{event_id}/live", sdk: "live.start" },
  liveMessages: {
    method: "GET",
    path: "/events/{event_id}/live/messages",
    sdk: "live.messages",
    public: true,
  },
  liveProof: {
    method: "GET",
    path: "/events/{event_id}/live/proof",
    sdk: "live.proof",
    public: true,
  },
  liveLock: { method: "POST", path: "/events/{event_id}/live/lock", sdk: "live.lock" },
  liveNextRound: {
    method: "POST",
    path: "/events/{event_id}/live/rounds/next",
    sdk: "live.nextRound",
  },
  livePause: { method: "POST", path: "/events/{event_id}/live/pause", sdk: "live.pause" },
  liveResume: { method: "POST", path: "/events/{event_id}/live/resume", sdk: "live.resume" },
  liveEnd: { method: "POST", path: "/events/{event_id}/live/end", sdk: "live.end" },
  liveScreenList: {
    method: "GET",
    path: "/events/{event_id}/live/screens",
    sdk: "live.screens",
  },
  liveScreenCreate: {
    method: "POST",
    path: "/events/{event_id}/live/screens",
    sdk: "live.addScreen",
  },
  liveScreenRevoke: {
    method: "DELETE",
    path: "/events/{event_id}/live/screens/{screen_id}",
    sdk: "live.revokeScreen",
  },
  subscriptionGet: { method: "GET", path: "/me/subscriptions", sdk: "subscriptions.get" },
  subscriptionAccept: { method: "POST", path: "/me/subscriptions", sdk: "subscriptions.accept" },
} as const satisfies Record<ClientOperationId, OperationSpec>;

export const API_PREFIX = "/api/v1";

/** The operation a request is for, from its method and URL (the mock and the tests use it). */
export function operationOf(method: string, url: string): ClientOperationId | undefined {
  const path = url.replace(/^[a-z]+:\/\/[^/]+/i, "").split("?", 1)[0] ?? "";
  for (const [id, spec] of Object.entries(OPERATIONS) as [ClientOperationId, OperationSpec][]) {
    if (spec.method === method.toUpperCase() && pattern(spec.path).test(path)) return id;
  }
  return undefined;
}

const patterns = new Map<string, RegExp>();

function pattern(template: string): RegExp {
  let found = patterns.get(template);
  if (!found) {
    const escaped = (API_PREFIX + template).replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    found = new RegExp(`^${escaped.replace(/\{[a-z_]+\}/g, "[^/]+")}$`);
    patterns.set(template, found);
  }
  return found;
}

/** `/events/{event_id}` with `{event_id: "e_1"}` -> `/events/e_1`, each value encoded. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
