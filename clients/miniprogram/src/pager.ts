/**
 * A cursor pager for the lists a page scrolls (the square, my events, the inbox, entries, the
 * creator's claims): `next()` loads the following page and resolves to its new items.
 *
 * - one load at a time: a second `next()` while one runs gets the same promise;
 * - a page may come back short, even empty, while `next` is not null (events that left the
 *   square between two reads): it keeps following `next` until it has items or the end;
 * - items already shown are dropped by `key` (the square's hot order moves while one scrolls);
 * - `reset()` starts over (pull to refresh) and makes any load still in flight harmless.
 */

import type { Page } from "./api.js";

export interface PagerOptions<T> {
  /** An item's identity, to drop one a moving order brings again (default: its `id`). */
  key?: (item: T) => string;
  /** How many short pages in a row `next()` follows before it returns what it has. */
  maxEmptyPages?: number;
}

export class Pager<T> {
  /** Every item loaded so far, in order, each once. */
  items: T[] = [];
  /** No page after the last one loaded. */
  done = false;
  private cursor: string | undefined;
  private loading: Promise<T[]> | null = null;
  private generation = 0;
  private readonly seen = new Set<string>();
  private readonly key: (item: T) => string;

  constructor(
    private readonly load: (cursor: string | undefined) => Promise<Page<T>>,
    private readonly options: PagerOptions<T> = {},
  ) {
    this.key = options.key ?? ((item) => String((item as { id?: unknown }).id));
  }

  get isLoading(): boolean {
    return this.loading !== null;
  }

  /** The next page's new items ([] once done). */
  next(): Promise<T[]> {
    if (this.done) return Promise.resolve([]);
    this.loading ??= this.fetch(this.generation).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Forget everything: the next `next()` loads the first page again. */
  reset(): void {
    this.generation++;
    this.items = [];
    this.done = false;
    this.cursor = undefined;
    this.loading = null;
    this.seen.clear();
  }

  private async fetch(generation: number): Promise<T[]> {
    const fresh: T[] = [];
    for (let empty = 0; empty <= (this.options.maxEmptyPages ?? 5); empty++) {
      const page = await this.load(this.cursor);
      if (generation !== this.generation) return []; // reset meanwhile: not ours any more
      for (const item of page.results) {
        const key = this.key(item);
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        fresh.push(item);
      }
      this.cursor = page.next ?? undefined;
      this.done = page.next === null;
      if (fresh.length || this.done) break;
    }
    this.items = [...this.items, ...fresh];
    return fresh;
  }
}

/** `pager((cursor) => api.square.list({ sort: "hot", cursor }))` */
export function pager<T>(
  load: (cursor: string | undefined) => Promise<Page<T>>,
  options?: PagerOptions<T>,
): Pager<T> {
  return new Pager(load, options);
}

/** Every item of a list, page after page (for short lists: a creator's claims to ship). */
export async function collectAll<T>(
  load: (cursor: string | undefined) => Promise<Page<T>>,
  options?: PagerOptions<T>,
): Promise<T[]> {
  const all = pager(load, options);
  while (!all.done) await all.next();
  return all.items;
}
