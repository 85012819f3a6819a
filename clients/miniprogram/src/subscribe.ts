/**
 * Asking for subscribe-message consent the way WeChat allows it: from a tap (the call must
 * happen in the tap's handler, before anything is awaited: after a network round trip the
 * gesture is gone and WeChat refuses), for at most 3 templates per prompt, then telling the
 * server which ones were accepted (it keeps one message of quota per acceptance).
 */

import type { Config, Data } from "./api.js";
import type { RequestOptions } from "./request.js";

/** WeChat shows at most this many templates in one wx.requestSubscribeMessage. */
export const SUBSCRIBE_LIMIT = 3;

export type TemplateKind = keyof Config["subscribe_templates"];

/** The part of `wx` the prompt needs. */
export interface WxSubscribeLike {
  requestSubscribeMessage(options: {
    tmplIds: string[];
    success?: (result: Record<string, string>) => void;
    fail?: (error: { errMsg: string; errCode?: number }) => void;
  }): unknown;
}

interface SubscriptionWriter {
  subscriptions: {
    accept(accepted: string[], opts?: RequestOptions): Promise<Data<"subscriptionAccept">>;
  };
}

/** The template ids to ask for: the configured ones of `kinds`, in that order, at most 3. */
export function templatesToAsk(
  config: Pick<Config, "subscribe_templates">,
  kinds: TemplateKind[] = ["result", "cancel", "shipped"],
): string[] {
  const ids: string[] = [];
  for (const kind of kinds) {
    const id = config.subscribe_templates[kind];
    if (id && !ids.includes(id)) ids.push(id);
  }
  return ids.slice(0, SUBSCRIBE_LIMIT);
}

export interface SubscribeResult {
  asked: string[];
  accepted: string[];
  /** What the server says is left per template, when something was accepted. */
  quota?: Data<"subscriptionAccept">["quota"];
}

/**
 * Call it first thing in a tap handler, with the config already loaded: it opens WeChat's
 * prompt synchronously, then reports the accepted templates. Never rejects for the prompt
 * (a refusal is an empty `accepted`); a failed report rejects like any call.
 */
export function subscribe(
  api: SubscriptionWriter,
  wx: WxSubscribeLike,
  config: Pick<Config, "subscribe_templates">,
  kinds?: TemplateKind[],
): Promise<SubscribeResult> {
  const asked = templatesToAsk(config, kinds);
  if (asked.length === 0) return Promise.resolve({ asked, accepted: [] });
  // The executor runs now, inside the caller's tap: this is what keeps the gesture.
  const answer = new Promise<Record<string, string>>((resolve) => {
    wx.requestSubscribeMessage({ tmplIds: asked, success: resolve, fail: () => resolve({}) });
  });
  return answer.then(async (result) => {
    const accepted = asked.filter((id) => result[id] === "accept");
    if (accepted.length === 0) return { asked, accepted };
    const { quota } = await api.subscriptions.accept(accepted);
    return { asked, accepted, quota };
  });
}
