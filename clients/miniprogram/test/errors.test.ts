/**
 * Error data typed as the server sends it (issue 23, finding 7): the types come from the
 * OpenAPI document, so these checks fail to compile when the document says otherwise.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, ErrorCode, type ErrorData, type FieldErrors } from "../src/errors.js";

// Mutually assignable: each operation declares its own copy of a shape, all alike.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assignable<A, B> = [A] extends [B] ? true : false;

// Each line fails `tsc` if the document types that code's data otherwise.
const typed: [
  Equal<ErrorData<40031>, { max_bytes: number }>,
  Equal<ErrorData<40032>, { max_pixels: number }>,
  Assignable<ErrorData<40033>, FieldErrors>,
  Assignable<ErrorData<40034>, FieldErrors>,
  Assignable<ErrorData<40000>, FieldErrors>,
  Equal<ErrorData<40020>, { accepted: string[] }>,
  Equal<ErrorData<42900>, { retry_after: number }>,
  Equal<ErrorData<40901>, null>,
  Equal<unknown, ErrorData<number>>,
] = [true, true, true, true, true, true, true, true, true];

test("the data of each upload and content refusal has its own type", () => {
  assert.ok(typed.every(Boolean));
});

test("firstFieldError reads the field map of 40000, 40033 and 40034", () => {
  const unusable = new ApiError(
    400,
    ErrorCode.UploadUnusable,
    "图片不存在",
    { cover: ["img_x"] },
    "r",
  );
  assert.equal(unusable.firstFieldError(), "img_x");
  assert.deepEqual(unusable.fields(), ["cover"]);
  const risky = new ApiError(400, ErrorCode.ContentRisky, "内容违规", { title: ["内容违规"] }, "r");
  assert.equal(risky.firstFieldError(), "内容违规");
  const nested = new ApiError(
    400,
    ErrorCode.InvalidInput,
    "x",
    { prizes: { "1": { quantity: ["太大"] } } },
    "r",
  );
  assert.equal(nested.firstFieldError(), "太大");
  const locked = new ApiError(409, ErrorCode.EventLocked, "已锁定", null, "r");
  assert.equal(locked.firstFieldError(), undefined);
  assert.deepEqual(locked.fields(), []);
});
