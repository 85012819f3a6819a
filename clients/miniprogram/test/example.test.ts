/**
 * The example mini-program runs, not only compiles: its pages, transpiled as WeChat DevTools
 * does (TypeScript to CommonJS) and loaded with the SDK's built package (dist/), go through
 * their lifecycle in mock mode against a `wx` whose network is `mockWx()` (the recorded
 * answers) and whose UI calls are recorded. Needs `npm run dist` (ci.sh builds it first).
 */

import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import Module, { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";

import ts from "typescript";

import { ADDRESS, PHOTO } from "./wx-shim.js";

const root = new URL("../../", import.meta.url).pathname;
const dist = join(root, "dist");
const source = join(root, "example", "miniprogram");
const skip = !existsSync(join(dist, "index.js")) && "no dist/: npm run dist";

type Options = Record<string, unknown> & { data?: Record<string, unknown> };
type Instance = Record<string, unknown> & {
  data: Record<string, unknown>;
  setData(patch: Record<string, unknown>): void;
};

/** Every .ts of the example as CommonJS in a temporary folder; returns that folder. */
function transpile(): string {
  const out = mkdtempSync(join(tmpdir(), "example-"));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) {
        const js = ts.transpileModule(readFileSync(path, "utf8"), {
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2017,
            esModuleInterop: true,
          },
        }).outputText;
        const target = join(out, relative(source, path)).replace(/\.ts$/, ".js");
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, js);
      }
    }
  };
  walk(source);
  writeFileSync(join(out, "package.json"), '{"type": "commonjs"}');
  return out;
}

/** A mini-program's globals: App, Page, getApp, and a wx whose network is the mock's. */
function install(wxNetwork: Record<string, unknown>) {
  const pages = new Map<string, Options>();
  const ui: Array<[string, unknown]> = [];
  const storage = new Map<string, unknown>();
  let app: Options | undefined;
  let current = "";
  const record =
    (name: string) =>
    (options: Record<string, unknown> = {}) => {
      ui.push([name, options]);
      (options.success as ((r: unknown) => void) | undefined)?.({
        tapIndex: 3,
        confirm: true,
        content: "顺丰 SF1",
      });
    };
  const wx = {
    ...wxNetwork,
    getStorageSync: (key: string) => storage.get(key) ?? "",
    setStorageSync: (key: string, value: unknown) => storage.set(key, value),
    removeStorageSync: (key: string) => storage.delete(key),
    login: (options: { success: (r: { code: string }) => void }) =>
      options.success({ code: "mock-code" }),
    chooseMedia: (options: { success: (r: unknown) => void }) =>
      options.success({ tempFiles: [{ tempFilePath: PHOTO, size: 6000 }], type: "image" }),
    compressImage: (options: { src: string; success: (r: unknown) => void }) =>
      options.success({ tempFilePath: options.src }),
    chooseAddress: (options: { success: (r: unknown) => void }) => options.success(ADDRESS),
    requestSubscribeMessage: (options: { tmplIds: string[]; success: (r: unknown) => void }) => {
      ui.push(["requestSubscribeMessage", options.tmplIds]);
      options.success(Object.fromEntries(options.tmplIds.map((id) => [id, "accept"])));
    },
    openDocument: record("openDocument"),
    showToast: record("showToast"),
    showLoading: record("showLoading"),
    hideLoading: record("hideLoading"),
    navigateTo: record("navigateTo"),
    redirectTo: record("redirectTo"),
    previewImage: record("previewImage"),
    showActionSheet: record("showActionSheet"),
    showModal: record("showModal"),
    stopPullDownRefresh: record("stopPullDownRefresh"),
  };
  Object.assign(globalThis, {
    wx,
    App: (options: Options) => (app = options),
    Page: (options: Options) => pages.set(current, options),
    getApp: () => app,
  });
  return {
    ui,
    app: () => app!,
    /** Loads a page's module (which calls Page()) and makes an instance of it. */
    page(require: NodeRequire, path: string): Instance {
      current = path;
      require(path);
      const options = pages.get(path)!;
      const instance = { ...options, data: structuredClone(options.data ?? {}) } as Instance;
      instance.setData = (patch) => {
        for (const [key, value] of Object.entries(patch)) setPath(instance.data, key, value);
      };
      return instance;
    },
  };
}

/** `prizes[0].name` -> data.prizes[0].name, as setData reads a key. */
function setPath(data: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.replace(/\[(\d+)\]/g, ".$1").split(".");
  let at = data as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) at = at[part] as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

const call = (page: Instance, name: string, ...args: unknown[]) =>
  (page[name] as (...a: unknown[]) => unknown).apply(page, args) as Promise<void> | void;
const tap = (dataset: Record<string, unknown>) => ({ currentTarget: { dataset }, detail: {} });
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test("the example's pages run their lifecycle in mock mode", { skip }, async () => {
  const out = transpile();
  // The example imports the SDK by its package name: point it at dist/.
  const resolve = (
    Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string }
  )._resolveFilename;
  const hooks = Module as unknown as { _resolveFilename: typeof resolve };
  hooks._resolveFilename = (request: string, ...rest: unknown[]) => {
    if (request === "@lottery/miniprogram-sdk") return join(dist, "index.js");
    if (request === "@lottery/miniprogram-sdk/mock") return join(dist, "mock.js");
    return resolve.call(Module, request, ...rest);
  };
  try {
    const requireFrom = createRequire(join(out, "app.js"));
    const { mockWx } = requireFrom(join(dist, "mock.js")) as {
      mockWx: () => Record<string, unknown>;
    };
    const mini = install(mockWx());
    requireFrom(join(out, "app.js"));
    await call(mini.app() as Instance, "onLaunch");
    assert.ok((mini.app().globalData as { me: unknown }).me, "logged in at launch");

    const square = mini.page(requireFrom, join(out, "pages/square/index.js"));
    call(square, "onLoad", {});
    await settle();
    assert.ok((square.data.events as unknown[]).length > 0, "the square shows events");
    call(square, "onSortTap", tap({ sort: "new" }));
    await settle();
    assert.equal(square.data.sort, "new");

    const detail = mini.page(requireFrom, join(out, "pages/event/detail.js"));
    await call(detail, "onLoad", { scene: encodeURIComponent("e_0000000000000002") });
    assert.equal(detail.data.id, "e_0000000000000002", "opened from a scan");
    assert.ok(detail.data.event);
    call(detail, "onJoinTap");
    assert.equal(
      mini.ui.filter(([name]) => name === "requestSubscribeMessage").length,
      1,
      "asked inside the tap",
    );
    await settle();
    assert.ok(
      (call(detail, "onShareAppMessage") as unknown as { path: string }).path.includes(
        "pages/event/detail",
      ),
    );
    call(detail, "onHide");

    const create = mini.page(requireFrom, join(out, "pages/create/index.js"));
    await call(create, "onLoad", {});
    await call(create, "onCoverTap");
    assert.ok((create.data.cover as { id: string }).id.startsWith("img_"), "a cover uploaded");
    await call(create, "onPrizeImageTap", tap({ index: 0 }));
    create.setData({ title: "年会", "prizes[0].name": "iPad", date: "2030-01-01" });
    await call(create, "onSubmitTap");
    assert.ok(
      mini.ui.some(
        ([name, options]) =>
          name === "redirectTo" &&
          String((options as { url: string }).url).includes("/pages/event/detail?id=e_"),
      ),
    );

    const mine = mini.page(requireFrom, join(out, "pages/mine/index.js"));
    await call(mine, "onShow");
    assert.ok(mine.data.me);
    await call(mine, "onChooseAvatar", { detail: { avatarUrl: PHOTO } });
    assert.ok((mine.data.me as { avatar: unknown }).avatar, "avatar set from an upload");

    const result = mini.page(requireFrom, join(out, "pages/result/index.js"));
    await call(result, "onLoad", { id: "e_0000000000000002" });
    assert.ok(result.data.winners, "the result after waiting for the phase");
    assert.ok(result.data.claim);
    await call(result, "onClaimTap");
    await call(result, "onExportTap");
    assert.ok(mini.ui.some(([name]) => name === "openDocument"));
    call(result, "onUnload");

    const inbox = mini.page(requireFrom, join(out, "pages/inbox/index.js"));
    await call(inbox, "onShow");
    assert.ok((inbox.data.items as unknown[]).length > 0);
  } finally {
    hooks._resolveFilename = resolve;
  }
});
