import type { Me } from "@lottery/miniprogram-sdk";

import { api, loadConfig, wxLoginCode } from "./api";

interface IAppOption {
  globalData: { me: Me | null };
}

App<IAppOption>({
  globalData: { me: null },

  async onLaunch() {
    try {
      await loadConfig();
      if (!api.tokens.get()) {
        const { user } = await api.auth.login({ code: await wxLoginCode() });
        this.globalData.me = user;
      }
    } catch (error) {
      console.warn("launch", error);
    }
  },
});
