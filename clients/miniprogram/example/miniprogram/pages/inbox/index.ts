/** The inbox: results, cancellations, claims, newest first; opening it clears the badge. */

import { type Notification, type Pager, pager } from "@lottery/miniprogram-sdk";

import { api, showError } from "../../api";

let list: Pager<Notification> | null = null;

Page({
  data: { items: [] as Notification[], done: false, unread: 0 },

  async onShow() {
    list = pager(async (cursor) => {
      const page = await api.notifications.list(cursor ? { cursor } : {});
      this.setData({ unread: page.unread_count });
      return page;
    });
    await this.more();
    const newest = this.data.items[0];
    if (newest) {
      try {
        const { unread_count } = await api.notifications.markRead({ up_to: newest.created_at });
        this.setData({ unread: unread_count });
      } catch (error) {
        showError(error);
      }
    }
  },

  onReachBottom() {
    void this.more();
  },

  onItemTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { event?: string }
    >,
  ) {
    const id = event.currentTarget.dataset.event;
    if (id) wx.navigateTo({ url: `/pages/event/detail?id=${id}` });
  },

  async more(): Promise<void> {
    const current = list;
    if (!current || current.done) return;
    try {
      await current.next();
      if (current === list) this.setData({ items: current.items, done: current.done });
    } catch (error) {
      showError(error);
    }
  },
});
