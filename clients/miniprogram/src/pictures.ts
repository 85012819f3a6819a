/**
 * Pictures from the phone to the API: choose (`wx.chooseMedia`, or the avatar the
 * `<button open-type="chooseAvatar">` hands over), shrink (`wx.compressImage`), upload
 * (`api.uploads.create`, which refreshes, waits and retries like any call), and use the
 * upload's **id**: `avatar` in `PUT /me`, an event's `cover`, a prize's `image`. Never send
 * the upload's URL as `avatar_url`: that field is for WeChat's own avatar URL, the upload
 * would stay unattached and be deleted after a day.
 */

import type { Me, Upload, UploadPurpose } from "./api.js";
import type { RequestOptions, UploadOptions } from "./request.js";

/** The part of `wx` this module uses. */
export interface WxPicturesLike {
  chooseMedia(options: {
    count?: number;
    mediaType?: Array<"image" | "video" | "mix">;
    sourceType?: Array<"album" | "camera">;
    sizeType?: Array<"original" | "compressed">;
    success?: (result: { tempFiles: Array<{ tempFilePath: string; size: number }> }) => void;
    fail?: (error: { errMsg: string }) => void;
  }): unknown;
  compressImage(options: {
    src: string;
    quality?: number;
    compressedWidth?: number;
    success?: (result: { tempFilePath: string }) => void;
    fail?: (error: { errMsg: string }) => void;
  }): unknown;
}

interface Uploader {
  uploads: {
    create(
      file: { filePath: string; purpose: UploadPurpose },
      opts?: UploadOptions,
    ): Promise<Upload>;
  };
}

interface ProfileWriter extends Uploader {
  me: { update(body: { avatar?: string }, opts?: RequestOptions): Promise<Me> };
}

export interface PictureOptions extends UploadOptions {
  /** wx.compressImage's quality, 0-100 (80 by default); the server re-encodes anyway. */
  quality?: number;
  /** Widest side sent: the server keeps at most 1280 (cover), 800 (prize), 256 (avatar). */
  maxWidth?: number;
  sourceType?: Array<"album" | "camera">;
}

const WIDTHS: Record<UploadPurpose, number> = { cover: 1280, prize: 800, avatar: 512 };

/**
 * `wx.chooseMedia` (one image) -> `wx.compressImage` -> upload: resolves to the upload
 * (`{id, url, width, height}`; pass `id` on), or null when the user closed the picker.
 */
export async function chooseAndUpload(
  api: Uploader,
  wx: WxPicturesLike,
  purpose: UploadPurpose,
  options: PictureOptions = {},
): Promise<Upload | null> {
  const chosen = await new Promise<string | null>((resolve, reject) => {
    wx.chooseMedia({
      count: 1,
      mediaType: ["image"],
      sizeType: ["compressed"],
      ...(options.sourceType ? { sourceType: options.sourceType } : {}),
      success: (result) => resolve(result.tempFiles[0]?.tempFilePath ?? null),
      fail: (error) =>
        /cancel/.test(error.errMsg) ? resolve(null) : reject(new Error(error.errMsg)),
    });
  });
  if (chosen === null) return null;
  return uploadPicture(api, wx, chosen, purpose, options);
}

/** A picture already on the phone (a temp file path): compress, then upload. */
export async function uploadPicture(
  api: Uploader,
  wx: Pick<WxPicturesLike, "compressImage">,
  filePath: string,
  purpose: UploadPurpose,
  options: PictureOptions = {},
): Promise<Upload> {
  const compressed = await compress(wx, filePath, purpose, options);
  const { quality: _quality, maxWidth: _maxWidth, sourceType: _sourceType, ...upload } = options;
  return api.uploads.create({ filePath: compressed, purpose }, upload);
}

/**
 * The avatar a user picked with `<button open-type="chooseAvatar" bindchooseavatar=...>`
 * (`event.detail.avatarUrl`, a temporary file): upload it and make it the profile's avatar.
 */
export async function setAvatar(
  api: ProfileWriter,
  wx: Pick<WxPicturesLike, "compressImage">,
  avatarTempPath: string,
  options: PictureOptions = {},
): Promise<Me> {
  const upload = await uploadPicture(api, wx, avatarTempPath, "avatar", options);
  return api.me.update({ avatar: upload.id }, options.signal ? { signal: options.signal } : {});
}

/** wx.compressImage, best effort: the original when it cannot (a PNG on some phones). */
function compress(
  wx: Pick<WxPicturesLike, "compressImage">,
  src: string,
  purpose: UploadPurpose,
  options: PictureOptions,
): Promise<string> {
  return new Promise((resolve) => {
    wx.compressImage({
      src,
      quality: options.quality ?? 80,
      compressedWidth: options.maxWidth ?? WIDTHS[purpose],
      success: (result) => resolve(result.tempFilePath),
      fail: () => resolve(src),
    });
  });
}
