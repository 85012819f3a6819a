/**
 * Time as the server counts it. A phone's clock can be minutes (or hours) off; countdowns to
 * `lock_at` and `draw_at` and the pacing of `waitForPhase` use the offset to the server's clock
 * learnt from `/config` (`server_time`, or the `Date` header of a 304), never the phone's alone.
 */

export class ServerClock {
  /** Server time minus phone time, in ms. */
  constructor(readonly offsetMs: number = 0) {}

  /** From a `/config` answer; `receivedAt` is the phone's time when it arrived. */
  static fromConfig(config: { server_time: string }, receivedAt: number = Date.now()): ServerClock {
    const server = Date.parse(config.server_time);
    if (!Number.isFinite(server)) throw new Error(`not a time: ${config.server_time}`);
    return new ServerClock(server - receivedAt);
  }

  /** Now on the server's clock, in ms since the epoch. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Milliseconds from now (server time) until `iso`; negative once it has passed. */
  until(iso: string): number {
    return Date.parse(iso) - this.now();
  }
}

export interface Countdown {
  /** What is left, in ms (0 once reached). */
  totalMs: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  done: boolean;
}

/** What is left until `target` (an API datetime) by the server's clock, in whole seconds. */
export function countdown(target: string, clock: ServerClock): Countdown {
  const totalMs = Math.max(0, clock.until(target));
  const total = Math.ceil(totalMs / 1000);
  return {
    totalMs,
    days: Math.floor(total / 86400),
    hours: Math.floor((total % 86400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
    done: totalMs === 0,
  };
}

/** "2天 03:04:05" / "03:04:05": a countdown as a label. */
export function formatCountdown(left: Countdown): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  const time = `${pad(left.hours)}:${pad(left.minutes)}:${pad(left.seconds)}`;
  return left.days > 0 ? `${left.days}天 ${time}` : time;
}
