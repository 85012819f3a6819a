/**
 * An event: opened from a share card (`?id=e_…`), a subscribe message (the same) or a scanned
 * mini-program code (`?scene=e_…`, encoded, no id): `eventIdFromQuery` reads both. Counts down
 * to the end of joining by the server's clock; the join button asks for subscribe messages
 * first, inside the tap (WeChat's rule), for at most 3 templates.
 */

import {
  countdown,
  ErrorCode,
  type Event,
  eventIdFromQuery,
  formatCountdown,
  isApiError,
  subscribe,
} from "@lottery/miniprogram-sdk";

import { api, currentConfig, loadConfig, serverClock, showError } from "../../api";

const REPORT_REASONS = ["fraud", "porn", "illegal", "spam", "other"] as const;
const REPORT_LABELS = ["欺诈", "色情", "违法", "垃圾信息", "其他"];

let timer: number | undefined;

function stopTimer(): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
}

Page({
  data: {
    id: "",
    event: null as Event | null,
    left: "",
    sharePath: "",
    shareTitle: "",
    missing: false,
  },

  async onLoad(query: Record<string, string | undefined>) {
    const id = eventIdFromQuery(query);
    if (!id) {
      this.setData({ missing: true });
      return;
    }
    this.setData({ id });
    try {
      if (!currentConfig()) await loadConfig();
      await this.reload();
      const share = await api.events.share(id);
      this.setData({ sharePath: share.path, shareTitle: share.title });
    } catch (error) {
      if (isApiError(error, ErrorCode.EventNotFound)) this.setData({ missing: true });
      else showError(error);
    }
  },

  onShow() {
    stopTimer();
    timer = setInterval(() => this.tick(), 1000);
  },

  onHide() {
    stopTimer();
  },

  onUnload() {
    stopTimer();
  },

  onShareAppMessage() {
    const event = this.data.event;
    return {
      title:
        this.data.shareTitle ||
        (event ? `${event.creator.nickname} 邀你参与抽奖：${event.title}` : "抽奖"),
      path: `/${this.data.sharePath || `pages/event/detail?id=${this.data.id}`}`,
    };
  },

  async reload(): Promise<void> {
    const event = await api.events.get(this.data.id);
    this.setData({ event });
    this.tick();
    if (event.phase === "opened") wx.redirectTo({ url: `/pages/result/index?id=${event.id}` });
  },

  tick() {
    const event = this.data.event;
    if (!event) return;
    const left = countdown(event.joinable ? event.lock_at : event.draw_at, serverClock());
    this.setData({ left: left.done ? "" : formatCountdown(left) });
  },

  onJoinTap() {
    const config = currentConfig();
    // First, inside the tap: WeChat refuses the prompt after an await (the gesture is gone).
    const asked = config ? subscribe(api, wx, config) : Promise.resolve(null);
    void this.join(asked);
  },

  async join(asked: Promise<unknown>): Promise<void> {
    try {
      await api.events.join(this.data.id); // safe to repeat: the same entry comes back
      wx.showToast({ title: "参与成功" });
      await this.reload();
      await asked;
    } catch (error) {
      if (isApiError(error, ErrorCode.EventLocked))
        wx.showToast({ title: "已截止参与", icon: "none" });
      else showError(error);
    }
  },

  async onWithdrawTap() {
    try {
      await api.events.withdraw(this.data.id);
      await this.reload();
    } catch (error) {
      showError(error);
    }
  },

  async onCodeTap() {
    try {
      const share = await api.events.share(this.data.id);
      wx.previewImage({ urls: [share.image.url] }); // save it for a poster
    } catch (error) {
      showError(error);
    }
  },

  onReportTap() {
    wx.showActionSheet({
      itemList: REPORT_LABELS,
      success: async ({ tapIndex }) => {
        const reason = REPORT_REASONS[tapIndex];
        if (!reason) return;
        try {
          await api.events.report(this.data.id, reason);
          wx.showToast({ title: "已举报" });
        } catch (error) {
          showError(error);
        }
      },
    });
  },

  onResultTap() {
    wx.navigateTo({ url: `/pages/result/index?id=${this.data.id}` });
  },
});
