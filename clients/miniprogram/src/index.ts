export { createApi } from "./api.js";
export type {
  AddressInput,
  Api,
  Body,
  ClaimRow,
  Condition,
  ConditionsInput,
  Config,
  Data,
  Event,
  EventCreateInput,
  EventStatus,
  Exclusion,
  Flags,
  Join,
  JoinInput,
  Me,
  MyClaim,
  Notification,
  Page,
  Picture,
  PrizeRef,
  Proof,
  Query,
  Share,
  SquareEvent,
  Upload,
  UploadPurpose,
  Winners,
} from "./api.js";
export {
  ApiError,
  CanceledError,
  ErrorCode,
  NetworkError,
  isApiError,
  isCanceled,
} from "./errors.js";
export type { ErrorCodeValue, ErrorData, FieldErrors } from "./errors.js";
export { cancellation, headerValue, memoryTokenStore, newRequestId } from "./request.js";
export type {
  CancelSignal,
  ClientOptions,
  DeprecationNotice,
  RequestOptions,
  ResponseInfo,
  TokenStore,
  Tokens,
  UploadOptions,
  UploadProgress,
  WxLike,
} from "./request.js";
export { NOT_FOR_MINIPROGRAMS, OPERATIONS, operationOf } from "./operations.js";
export type { ClientOperationId, OperationSpec } from "./operations.js";
export { Pager, collectAll, pager } from "./pager.js";
export type { PagerOptions } from "./pager.js";
export { ServerClock, countdown, formatCountdown } from "./clock.js";
export type { Countdown } from "./clock.js";
export { PhaseTimeoutError, dueIn, waitForPhase } from "./phases.js";
export type { Phase, WaitOptions } from "./phases.js";
export { eventIdFromQuery, eventIdFromScene } from "./launch.js";
export { SUBSCRIBE_LIMIT, subscribe, templatesToAsk } from "./subscribe.js";
export type { SubscribeResult, TemplateKind, WxSubscribeLike } from "./subscribe.js";
export { chooseAndUpload, setAvatar, uploadPicture } from "./pictures.js";
export type { PictureOptions, WxPicturesLike } from "./pictures.js";
export { addressFromWx, chooseAddress, openClaimsWorkbook } from "./claims.js";
export type { WxAddress, WxAddressLike, WxDocumentLike } from "./claims.js";
export { API_VERSION, SDK_VERSION, isApiCompatible } from "./version.js";
export { createLive, watchLive } from "./live.js";
export type { Live, LiveFrame, LiveState, WatchOptions, WxSocketLike, WxSocketTask } from "./live.js";
