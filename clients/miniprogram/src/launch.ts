/**
 * Which event a page was opened for. A share card opens `pages/event/detail?id=e_…`
 * (`options.id`); a scanned mini-program code (`GET /events/{id}/share`'s `image`, made with
 * `scene` = the event id) opens the same page with `options.scene`, URL-encoded, and no `id`.
 * Read both, or a scan lands on "活动不存在".
 */

const EVENT_ID = /^e_[0-9A-Za-z]{1,32}$/;

/** The event id in a page's `onLoad(options)` (or `wx.getLaunchOptionsSync().query`). */
export function eventIdFromQuery(
  query: Record<string, string | undefined> | undefined,
): string | null {
  if (!query) return null;
  if (query.id && EVENT_ID.test(query.id)) return query.id;
  if (query.scene) return eventIdFromScene(query.scene);
  return null;
}

/**
 * The event id in a code's `scene`: the id itself, or `id=e_…` (a scene may hold a short
 * query), encoded once or not at all depending on where it was read.
 */
export function eventIdFromScene(scene: string): string | null {
  let text = scene;
  for (let i = 0; i < 2 && /%[0-9A-Fa-f]{2}/.test(text); i++) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return null;
    }
  }
  text = text.trim();
  if (EVENT_ID.test(text)) return text;
  for (const part of text.split("&")) {
    const [key, value] = part.split("=", 2);
    if ((key === "id" || key === "e") && value && EVENT_ID.test(value)) return value;
  }
  return null;
}
