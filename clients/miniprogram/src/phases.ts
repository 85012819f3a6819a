/**
 * Waiting for an event to reach a phase (`opened`: drawn), paced by the server's clock.
 *
 * It reads `phase`, the status as of now, never `status`: an event past its `lock_at` is
 * `opening` before the sweeper moves `status`. It sleeps until the moment the next phase is
 * due by the server's clock (the lock at `lock_at`; the draw at `draw_at`, or after the reveal
 * gap when the lock came early: a manual draw takes 10 s or more, not one poll), then polls,
 * less and less often, until the phase is reached or the event is final (`opened`,
 * `canceled`): check the returned event's `phase`.
 */

import type { Event } from "./api.js";
import { ServerClock } from "./clock.js";
import { CanceledError } from "./errors.js";
import type { CancelSignal, RequestOptions } from "./request.js";

export type Phase = Event["phase"];

const ORDER: Record<Phase, number> = { init: 0, opening: 1, opened: 2, canceled: 3 };

export interface WaitOptions {
  /** The server's clock (`ServerClock.fromConfig(config)`); the phone's clock without it. */
  clock?: ServerClock;
  /** `config.limits.lock_lead_seconds` (60 by default): tells an early lock from a due one. */
  lockLeadSeconds?: number;
  /** The server's LOTTERY_REVEAL_GAP_SECONDS (10 by default): the seed waits that long. */
  revealGapSeconds?: number;
  /** First poll interval once the phase is due, ms; it grows by half up to `maxPollMs`. */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up (`PhaseTimeoutError`) after this long, ms. */
  timeoutMs?: number;
  signal?: CancelSignal;
  /** Each event read, for a page that shows progress. */
  onUpdate?: (event: Event) => void;
  /** Replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
}

export class PhaseTimeoutError extends Error {
  override readonly name = "PhaseTimeoutError";

  constructor(readonly event: Event) {
    super(`event ${event.id} still ${event.phase}`);
  }
}

interface EventReader {
  events: { get(eventId: string, opts?: RequestOptions): Promise<Event> };
}

/** Resolves to the event once its `phase` is `target` or later (or it is canceled). */
export async function waitForPhase(
  api: EventReader,
  eventId: string,
  target: Exclude<Phase, "init" | "canceled">,
  options: WaitOptions = {},
): Promise<Event> {
  const clock = options.clock ?? new ServerClock();
  const sleep = options.sleep ?? defaultSleep;
  const maxPoll = options.maxPollMs ?? 10_000;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const read = () => api.events.get(eventId, options.signal ? { signal: options.signal } : {});
  let poll = options.pollMs ?? 2_000;
  for (;;) {
    const event = await read();
    options.onUpdate?.(event);
    if (ORDER[event.phase] >= ORDER[target]) return event;
    const due = dueIn(event, clock, options);
    let wait: number;
    if (due > 0) {
      wait = Math.min(due + 500, maxPoll * 6); // just after it is due; re-read a long wait
    } else {
      wait = poll;
      poll = Math.min(poll * 1.5, maxPoll);
    }
    if (Date.now() + wait > deadline) {
      if (Date.now() >= deadline) throw new PhaseTimeoutError(event);
      wait = deadline - Date.now();
    }
    await sleepUnlessCanceled(sleep, wait, options.signal);
  }
}

/** Milliseconds until the event's next phase is due by the server's clock (<= 0: now). */
export function dueIn(event: Event, clock: ServerClock, options: WaitOptions = {}): number {
  if (event.phase === "init") return clock.until(event.lock_at);
  const lockAt = Date.parse(event.lock_at);
  const gap = (options.revealGapSeconds ?? 10) * 1000;
  const early = Date.parse(event.draw_at) - lockAt > (options.lockLeadSeconds ?? 60) * 1000 + 1000;
  const drawAt = Math.max(lockAt + gap, early ? lockAt : Date.parse(event.draw_at));
  return drawAt - clock.now();
}

function sleepUnlessCanceled(
  sleep: (ms: number) => Promise<void>,
  ms: number,
  signal: CancelSignal | undefined,
): Promise<void> {
  if (!signal) return sleep(ms);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new CanceledError(""));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort);
    sleep(ms).then(() => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) onAbort();
      else resolve();
    });
  });
}

const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => host.setTimeout(resolve, ms));
}
