/**
 * Live draws (现场开奖, docs/live.md): the host's commands over wx.request, and a websocket
 * over wx.connectSocket that resumes where it left off.
 *
 * `watchLive` keeps the number (seq) of the last message it handed over; when the socket drops
 * it reconnects with `?after=<seq>` and the server replays what was missed from the event's log,
 * so `onFrame` sees every message once, in order, whatever the network did.
 */

import { createApi } from "./api.js";
import type { components } from "./schema.js";
import type { ClientOptions } from "./request.js";

type Schemas = components["schemas"];
export type LiveState = Schemas["LiveState"];
export type LiveProof = Schemas["LiveProof"];

/** One message of an event's log, or the snapshot that starts a connection. */
export interface LiveFrame {
  seq: number;
  type: string;
  at?: string;
  data: Record<string, unknown>;
}

// The mini-program has timers, but this library is compiled without DOM or Node types.
const timers = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};
const id = (value: string) => encodeURIComponent(value);

/**
 * The host's commands and the polling reads: `createApi(options).live` on its own
 * (src/operations.ts lists each operation; api.ts's request layer sends them).
 */
export function createLive(options: ClientOptions) {
  return createApi(options).live;
}

export type Live = ReturnType<typeof createLive>;

/** What the SDK needs of wx.connectSocket and the SocketTask it returns. */
export interface WxSocketTask {
  onOpen(callback: () => void): void;
  onMessage(callback: (message: { data: string | ArrayBuffer }) => void): void;
  onClose(callback: (result: { code: number; reason: string }) => void): void;
  onError(callback: (error: unknown) => void): void;
  send(options: { data: string }): void;
  close(options?: { code?: number; reason?: string }): void;
}

export interface WxSocketLike {
  connectSocket(options: { url: string; header?: Record<string, string> }): WxSocketTask;
}

export interface WatchOptions {
  wx: WxSocketLike;
  /** The websocket origin, e.g. `wss://api.example.com`. */
  socketUrl: string;
  eventId: string;
  /** The user's access token, if any (phones may watch without one). */
  accessToken?: () => string | null;
  onFrame: (frame: LiveFrame) => void;
  /** Told when the server refuses for good: 4401 token, 4403 screen link, 4404 not live. */
  onRefused?: (code: number) => void;
  retryMs?: number;
}

export function watchLive(options: WatchOptions) {
  let seq = 0;
  let task: WxSocketTask | null = null;
  let stopped = false;
  let timer: unknown = null;
  const retry = options.retryMs ?? 1000;

  const open = () => {
    if (stopped) return;
    const after = seq > 0 ? `?after=${seq}` : "";
    const token = options.accessToken?.();
    task = options.wx.connectSocket({
      url: `${options.socketUrl}/ws/live/${id(options.eventId)}/${after}`,
      header: token ? { Authorization: `Bearer ${token}` } : {},
    });
    task.onMessage(({ data }) => {
      const frame = JSON.parse(String(data)) as LiveFrame;
      if (frame.type === "snapshot" || frame.seq > seq) {
        seq = frame.seq;
        options.onFrame(frame);
      }
    });
    task.onClose(({ code }) => {
      task = null;
      if ([4401, 4403, 4404].includes(code)) {
        stopped = true;
        options.onRefused?.(code);
      } else if (!stopped) {
        timer = timers.setTimeout(open, retry);
      }
    });
    task.onError(() => undefined); // a close follows
  };
  open();
  return {
    lastSeq: () => seq,
    close() {
      stopped = true;
      if (timer) timers.clearTimeout(timer);
      task?.close({ code: 1000 });
    },
  };
}
