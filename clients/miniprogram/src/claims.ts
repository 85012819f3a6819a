/**
 * Claiming a prize and handing prizes out, the mini-program side.
 *
 * `wx.chooseAddress` names its fields after WeChat's address book (userName, telNumber,
 * provinceName...); a shipping claim takes them as `address` under the API's names.
 * The creator's export is an .xlsx (`wx.openDocument` opens doc/xls/xlsx/ppt/pdf, not CSV),
 * downloaded with `wx.downloadFile`: the API's domain must also be a *download* legal domain.
 */

import type { AddressInput, Query } from "./api.js";
import type { RequestOptions } from "./request.js";

/** What `wx.chooseAddress` answers (the fields used here). */
export interface WxAddress {
  userName: string;
  telNumber: string;
  provinceName: string;
  cityName: string;
  countyName: string;
  detailInfo: string;
  /** Newer base libraries: the street as well, in one line. */
  detailInfoNew?: string;
  postalCode: string;
}

/** `wx.chooseAddress`'s answer as a claim's `address`. */
export function addressFromWx(address: WxAddress): AddressInput {
  return {
    name: address.userName.trim(),
    phone: address.telNumber.replace(/[^0-9+\- ]/g, "").trim(),
    province: address.provinceName,
    city: address.cityName,
    county: address.countyName ?? "",
    detail: (address.detailInfoNew || address.detailInfo).trim(),
    postal_code: address.postalCode ?? "",
  };
}

export interface WxAddressLike {
  chooseAddress(options: {
    success?: (result: WxAddress) => void;
    fail?: (error: { errMsg: string }) => void;
  }): unknown;
}

/** `wx.chooseAddress`, mapped; null when the user closed it or refused the permission. */
export function chooseAddress(wx: WxAddressLike): Promise<AddressInput | null> {
  return new Promise((resolve) => {
    wx.chooseAddress({
      success: (result) => resolve(addressFromWx(result)),
      fail: () => resolve(null),
    });
  });
}

export interface WxDocumentLike {
  openDocument(options: {
    filePath: string;
    fileType?: "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "pdf";
    showMenu?: boolean;
    success?: () => void;
    fail?: (error: { errMsg: string }) => void;
  }): unknown;
}

interface ClaimsExporter {
  claims: {
    downloadXlsx(
      eventId: string,
      query?: Query<"eventClaimsXlsx">,
      opts?: RequestOptions,
    ): Promise<string>;
  };
}

/** The creator's claims as a workbook, opened on the phone (with the menu to forward it). */
export async function openClaimsWorkbook(
  api: ClaimsExporter,
  wx: WxDocumentLike,
  eventId: string,
  query: Query<"eventClaimsXlsx"> = {},
  opts?: RequestOptions,
): Promise<string> {
  const filePath = await api.claims.downloadXlsx(eventId, query, opts);
  await new Promise<void>((resolve, reject) => {
    wx.openDocument({
      filePath,
      fileType: "xlsx",
      showMenu: true,
      success: () => resolve(),
      fail: (error) => reject(new Error(error.errMsg)),
    });
  });
  return filePath;
}
