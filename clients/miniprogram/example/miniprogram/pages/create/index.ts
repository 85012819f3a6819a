/**
 * Create an event with pictures: a cover and a picture per prize, each chosen, compressed and
 * uploaded by `chooseAndUpload`, whose upload id the event takes. The form checks what
 * `config.limits` says; the server's refusals come back by field (`firstFieldError`).
 */

import { chooseAndUpload, type EventCreateInput, type Upload } from "@lottery/miniprogram-sdk";

import { api, currentConfig, loadConfig, serverClock, showError } from "../../api";

interface PrizeForm {
  name: string;
  quantity: number;
  image: Upload | null;
}

type Delivery = NonNullable<EventCreateInput["delivery"]>;
const DELIVERIES: Delivery[] = ["none", "shipping", "contact", "code"];
const DELIVERY_LABELS = ["无需领奖", "邮寄", "联系发起人", "兑换码"];

Page({
  data: {
    title: "",
    description: "",
    date: "",
    time: "20:00",
    cover: null as Upload | null,
    prizes: [{ name: "", quantity: 1, image: null }] as PrizeForm[],
    deliveryIndex: 0,
    deliveryLabels: DELIVERY_LABELS,
    visibilityPublic: false,
    uploading: false,
    submitting: false,
  },

  async onLoad() {
    if (!currentConfig()) await loadConfig().catch(showError);
    const tomorrow = new Date(serverClock().now() + 86_400_000);
    this.setData({ date: tomorrow.toISOString().slice(0, 10) });
  },

  onTitleInput(event: WechatMiniprogram.Input) {
    this.setData({ title: event.detail.value });
  },

  onDescriptionInput(event: WechatMiniprogram.Input) {
    this.setData({ description: event.detail.value });
  },

  onDateChange(event: WechatMiniprogram.PickerChange) {
    this.setData({ date: String(event.detail.value) });
  },

  onTimeChange(event: WechatMiniprogram.PickerChange) {
    this.setData({ time: String(event.detail.value) });
  },

  onDeliveryChange(event: WechatMiniprogram.PickerChange) {
    this.setData({ deliveryIndex: Number(event.detail.value) });
  },

  onPublicChange(event: WechatMiniprogram.SwitchChange) {
    this.setData({ visibilityPublic: event.detail.value });
  },

  async onCoverTap() {
    const cover = await this.upload("cover");
    if (cover) this.setData({ cover });
  },

  onPrizeNameInput(event: WechatMiniprogram.Input<{ index: number }>) {
    this.setData({ [`prizes[${event.currentTarget.dataset.index}].name`]: event.detail.value });
  },

  onPrizeQuantityInput(event: WechatMiniprogram.Input<{ index: number }>) {
    this.setData({
      [`prizes[${event.currentTarget.dataset.index}].quantity`]: Number(event.detail.value) || 1,
    });
  },

  async onPrizeImageTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { index: number }
    >,
  ) {
    const index = event.currentTarget.dataset.index;
    const image = await this.upload("prize");
    if (image) this.setData({ [`prizes[${index}].image`]: image });
  },

  onAddPrizeTap() {
    const max = currentConfig()?.limits.prizes.max ?? 20;
    if (this.data.prizes.length >= max) return;
    this.setData({ prizes: [...this.data.prizes, { name: "", quantity: 1, image: null }] });
  },

  async upload(purpose: "cover" | "prize"): Promise<Upload | null> {
    this.setData({ uploading: true });
    try {
      return await chooseAndUpload(api, wx, purpose, {
        onProgress: ({ progress }) => wx.showLoading({ title: `上传中 ${progress}%` }),
      });
    } catch (error) {
      showError(error);
      return null;
    } finally {
      wx.hideLoading();
      this.setData({ uploading: false });
    }
  },

  async onSubmitTap() {
    const limits = currentConfig()?.limits;
    const drawAt = new Date(`${this.data.date}T${this.data.time}:00+08:00`);
    if (limits && drawAt.getTime() - serverClock().now() < limits.min_draw_lead_seconds * 1000) {
      wx.showToast({
        title: `开奖时间至少要在 ${limits.min_draw_lead_seconds / 60} 分钟之后`,
        icon: "none",
      });
      return;
    }
    const body: EventCreateInput = {
      title: this.data.title,
      description: this.data.description,
      draw_at: drawAt.toISOString(),
      delivery: DELIVERIES[this.data.deliveryIndex] ?? "none",
      visibility: this.data.visibilityPublic ? "public" : "unlisted",
      ...(this.data.cover ? { cover: this.data.cover.id } : {}),
      prizes: this.data.prizes.map((prize) => ({
        name: prize.name,
        quantity: prize.quantity,
        ...(prize.image ? { image: prize.image.id } : {}),
      })),
    };
    this.setData({ submitting: true });
    try {
      const event = await api.events.create(body);
      wx.redirectTo({ url: `/pages/event/detail?id=${event.id}` });
    } catch (error) {
      showError(error); // a field's message for 40000, 40033 (a picture), 40034 (a text)
    } finally {
      this.setData({ submitting: false });
    }
  },
});
