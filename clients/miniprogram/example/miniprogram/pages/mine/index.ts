/**
 * My lotteries (created, joined, won: one pager per tab) and my profile: the avatar from the
 * chooseAvatar button is uploaded and set by its upload **id** (`setAvatar`), the nickname from
 * a `type="nickname"` input.
 */

import { type Event, type Me, type Pager, pager, setAvatar } from "@lottery/miniprogram-sdk";

import { api, showError } from "../../api";

type Role = "created" | "joined" | "won";

let list: Pager<Event> | null = null;

Page({
  data: { me: null as Me | null, role: "joined" as Role, events: [] as Event[], done: false },

  async onShow() {
    try {
      this.setData({ me: await api.me.get() });
    } catch (error) {
      showError(error);
    }
    await this.restart();
  },

  onReachBottom() {
    void this.more();
  },

  onRoleTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { role: Role }
    >,
  ) {
    this.setData({ role: event.currentTarget.dataset.role });
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
    const role = this.data.role;
    list = pager((cursor) => api.me.events({ role, ...(cursor ? { cursor } : {}) }));
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

  // <button open-type="chooseAvatar" bindchooseavatar="onChooseAvatar">
  async onChooseAvatar(event: WechatMiniprogram.CustomEvent<{ avatarUrl: string }>) {
    try {
      wx.showLoading({ title: "上传中" });
      this.setData({ me: await setAvatar(api, wx, event.detail.avatarUrl) });
    } catch (error) {
      showError(error);
    } finally {
      wx.hideLoading();
    }
  },

  // <input type="nickname" bindblur="onNicknameBlur">
  async onNicknameBlur(event: WechatMiniprogram.InputBlur) {
    const nickname = event.detail.value.trim();
    if (!nickname || nickname === this.data.me?.nickname) return;
    try {
      this.setData({ me: await api.me.update({ nickname }) });
    } catch (error) {
      showError(error); // 40034 when WeChat's check finds it risky
    }
  },
});
