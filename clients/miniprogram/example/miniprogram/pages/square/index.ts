/**
 * The public square: public events still open, hot / soon / new, a page at a time. The pager
 * follows short pages and drops an event the moving hot order brings twice; the SDK revalidates
 * each page with its ETag (an unchanged page costs no body).
 */

import { type Pager, pager, type SquareEvent } from "@lottery/miniprogram-sdk";

import { api, showError } from "../../api";

type Sort = "hot" | "soon" | "new";

let list: Pager<SquareEvent> | null = null;

Page({
  data: { sort: "hot" as Sort, events: [] as SquareEvent[], done: false },

  onLoad() {
    this.restart();
  },

  onPullDownRefresh() {
    this.restart().finally(() => wx.stopPullDownRefresh());
  },

  onReachBottom() {
    void this.more();
  },

  onSortTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { sort: Sort }
    >,
  ) {
    this.setData({ sort: event.currentTarget.dataset.sort });
    void this.restart();
  },

  onEventTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { id: string }
    >,
  ) {
    wx.navigateTo({ url: `/pages/event/detail?id=${event.currentTarget.dataset.id}` });
  },

  restart(): Promise<void> {
    const sort = this.data.sort;
    list = pager((cursor) => api.square.list({ sort, ...(cursor ? { cursor } : {}) }));
    this.setData({ events: [], done: false });
    return this.more();
  },

  async more(): Promise<void> {
    const current = list;
    if (!current || current.done) return;
    try {
      await current.next();
      if (current === list) this.setData({ events: current.items, done: current.done });
    } catch (error) {
      showError(error);
    }
  },
});
