export { createApi } from "./api.js";
export type { Api, Body, Data, Event, EventStatus, Me, Notification, Proof, Query } from "./api.js";
export { ApiError, ErrorCode, NetworkError, isApiError } from "./errors.js";
export type { ErrorCodeValue, ErrorData, FieldErrors } from "./errors.js";
export { memoryTokenStore, newRequestId } from "./request.js";
export type { ClientOptions, TokenStore, Tokens, WxLike } from "./request.js";
export { createLive, watchLive } from "./live.js";
export type { Live, LiveFrame, LiveState, WatchOptions, WxSocketLike, WxSocketTask } from "./live.js";
