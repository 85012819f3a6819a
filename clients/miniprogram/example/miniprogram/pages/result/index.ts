/**
 * The result and the claim. Waits for `phase` to be `opened` (`waitForPhase`: paced by the
 * server's clock; a manual draw takes the reveal gap, 10 s or more), then shows the winners
 * and the proof. A winner claims (shipping: `wx.chooseAddress`, mapped by the SDK); the
 * creator pages through the claims by state, opens them as a workbook and ships.
 */

import {
  cancellation,
  chooseAddress,
  type ClaimRow,
  collectAll,
  type Event,
  type MyClaim,
  openClaimsWorkbook,
  type Proof,
  waitForPhase,
  type Winners,
} from "@lottery/miniprogram-sdk";

import { api, currentConfig, loadConfig, serverClock, showError } from "../../api";

type ClaimState = "unclaimed" | "claimed" | "shipped" | "expired";

let waiting: ReturnType<typeof cancellation> | null = null;

Page({
  data: {
    id: "",
    event: null as Event | null,
    winners: null as Winners | null,
    proof: null as Proof | null,
    claim: null as MyClaim | null,
    isCreator: false,
    rows: [] as ClaimRow[],
    rowState: "claimed" as ClaimState,
  },

  async onLoad(query: Record<string, string | undefined>) {
    const id = query.id ?? "";
    this.setData({ id });
    try {
      const config = currentConfig() ?? (await loadConfig());
      const me = await api.me.get();
      const event = await api.events.get(id);
      this.setData({ event, isCreator: event.creator.id === me.id });
      waiting = cancellation();
      const drawn = await waitForPhase(api, id, "opened", {
        clock: serverClock(),
        lockLeadSeconds: config.limits.lock_lead_seconds,
        signal: waiting.signal,
        onUpdate: (current) => this.setData({ event: current }),
      });
      if (drawn.phase !== "opened") return; // canceled: event.cancel_reason says why
      await this.showResult();
    } catch (error) {
      showError(error);
    }
  },

  onUnload() {
    waiting?.cancel(); // stop polling when the page goes
  },

  async onDrawTap() {
    try {
      await api.events.draw(this.data.id); // 202: locked now, drawn after the reveal gap
      wx.showToast({ title: "开奖中…", icon: "loading" });
    } catch (error) {
      showError(error);
    }
  },

  async showResult(): Promise<void> {
    const [winners, proof, event] = await Promise.all([
      api.events.winners(this.data.id),
      api.events.proof(this.data.id),
      api.events.get(this.data.id),
    ]);
    this.setData({ winners, proof, event });
    if (event.my_entry.claim) this.setData({ claim: await api.claims.mine(this.data.id) });
    if (this.data.isCreator && event.delivery !== "none") await this.loadRows();
  },

  async onClaimTap() {
    const event = this.data.event;
    if (!event) return;
    try {
      let claim: MyClaim;
      if (event.delivery === "shipping") {
        const address = await chooseAddress(wx); // userName, telNumber... renamed for the API
        if (!address) return;
        claim = await api.claims.submit(this.data.id, { address });
      } else {
        claim = await api.claims.submit(this.data.id);
      }
      this.setData({ claim });
      wx.showToast({ title: "已领取" });
    } catch (error) {
      showError(error);
    }
  },

  onRowStateTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { state: ClaimState }
    >,
  ) {
    this.setData({ rowState: event.currentTarget.dataset.state });
    void this.loadRows();
  },

  async loadRows(): Promise<void> {
    try {
      const state = this.data.rowState;
      const rows = await collectAll((cursor) =>
        api.claims.list(this.data.id, { state, ...(cursor ? { cursor } : {}) }),
      );
      this.setData({ rows });
    } catch (error) {
      showError(error);
    }
  },

  async onExportTap() {
    try {
      // wx.downloadFile (a download legal domain) then wx.openDocument: xlsx, not CSV.
      await openClaimsWorkbook(api, wx, this.data.id, { state: this.data.rowState });
    } catch (error) {
      showError(error);
    }
  },

  onShipTap(
    event: WechatMiniprogram.TouchEvent<
      Record<string, never>,
      Record<string, never>,
      { claim: string }
    >,
  ) {
    const claimId = event.currentTarget.dataset.claim;
    wx.showModal({
      title: "快递单号",
      editable: true,
      placeholderText: "顺丰 SF0000000000",
      success: async (answer) => {
        if (!answer.confirm || !answer.content) return;
        const [carrier = "", tracking = ""] = answer.content.trim().split(/\s+/, 2);
        try {
          await api.claims.ship(this.data.id, claimId, { carrier, tracking_number: tracking });
          await this.loadRows();
        } catch (error) {
          showError(error);
        }
      },
    });
  },
});
