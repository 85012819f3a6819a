"""The one error type of the API and its catalogue.

Every error the API returns has a stable numeric ``code`` from ``CATALOGUE``. The code starts
with the HTTP status it travels with, so a client can group codes without a table, and it never
changes meaning once published (docs/api.md lists them). Messages are Chinese by default and
English when the request asks for it (``Accept-Language: en``).
"""

from dataclasses import dataclass
from typing import Any

from django.utils import translation


@dataclass(frozen=True)
class ErrorKind:
    code: int
    status: int
    zh: str
    en: str


def _kinds(*kinds: tuple[str, int, int, str, str]) -> dict[str, ErrorKind]:
    return {name: ErrorKind(code, status, zh, en) for name, code, status, zh, en in kinds}


CATALOGUE: dict[str, ErrorKind] = _kinds(
    # name, code, HTTP status, Chinese message, English message
    ("invalid_input", 40000, 400, "请求参数有误", "Invalid input."),
    ("malformed_json", 40001, 400, "请求体不是合法的 JSON", "The request body is not valid JSON."),
    (
        "wechat_code_invalid",
        40010,
        400,
        "登录凭证无效或已被使用，请重新登录",
        "The login code is invalid or has already been used.",
    ),
    (
        "template_unknown",
        40020,
        400,
        "未知的订阅消息模板",
        "Unknown subscribe message template.",
    ),
    (
        "image_invalid",
        40030,
        400,
        "图片无法识别，请上传 JPEG、PNG 或 WebP 格式的完整图片",
        "The file is not a readable JPEG, PNG or WebP image.",
    ),
    ("image_too_large", 40031, 400, "图片文件过大", "The image file is too large."),
    (
        "image_too_many_pixels",
        40032,
        400,
        "图片尺寸过大，请缩小后再上传",
        "The image has too many pixels; shrink it and try again.",
    ),
    (
        "upload_unusable",
        40033,
        400,
        "图片不存在、已过期或不能用于此处，请重新上传",
        "The upload does not exist, has expired, is not yours or is for another purpose.",
    ),
    (
        "content_risky",
        40034,
        400,
        "内容含有违规信息，请修改后再提交",
        "WeChat's content check found risky content; change it and try again.",
    ),
    # WeChat's session_key we hold for the user no longer opens the data their client sent (it
    # changed with a wx.login we were not told of, or we never had one): log in again, retry.
    (
        "wechat_session_expired",
        40011,
        400,
        "微信登录状态已过期，请重新登录后再试",
        "Your WeChat session has expired: log in again, then retry.",
    ),
    # Entry conditions the creator chose (events.conditions): each unmet one has its own code.
    (
        "entry_password_required",
        40040,
        400,
        "本活动需要输入口令才能参与",
        "This event needs its password to join.",
    ),
    ("entry_password_wrong", 40041, 400, "口令不正确", "The password is wrong."),
    (
        "entry_answer_required",
        40042,
        400,
        "本活动需要回答问题才能参与",
        "This event needs an answer to its question to join.",
    ),
    ("entry_answer_wrong", 40043, 400, "答案不正确", "The answer is wrong."),
    (
        "entry_group_required",
        40044,
        400,
        "本活动仅限指定微信群的成员参与，请从群聊中打开后再试",
        "This event is for one WeChat group: open it from that group's chat.",
    ),
    (
        "entry_group_data_invalid",
        40045,
        400,
        "无法确认所在群聊，请从群聊中重新打开后再试",
        "The group data is not WeChat's for this mini-program: open it from the group again.",
    ),
    # Conditions WeChat's platform rules (小程序运营规范 5.1) forbid: refused by name.
    (
        "rule_follow_forbidden",
        40050,
        400,
        "根据《微信小程序平台运营规范》5.1，不得以关注公众号作为参与抽奖的条件",
        "WeChat's platform rules (5.1) forbid making entry depend on following an account.",
    ),
    (
        "rule_share_forbidden",
        40051,
        400,
        "根据《微信小程序平台运营规范》5.1，不得以分享、邀请好友换取抽奖机会",
        "WeChat's platform rules (5.1) forbid extra chances for sharing or inviting.",
    ),
    (
        "rule_paid_entry_forbidden",
        40052,
        400,
        "根据《微信小程序平台运营规范》5.1，不得收费参与抽奖",
        "WeChat's platform rules (5.1) forbid paid entry.",
    ),
    (
        "rule_fake_count_forbidden",
        40053,
        400,
        "根据《微信小程序平台运营规范》5.1，不得虚构参与人数",
        "WeChat's platform rules (5.1) forbid a made-up participant count.",
    ),
    ("not_authenticated", 40100, 401, "请先登录", "Authentication credentials were not provided."),
    ("token_invalid", 40101, 401, "登录已失效，请重新登录", "The token is invalid or expired."),
    ("user_inactive", 40102, 401, "账号已被停用", "This account has been deactivated."),
    (
        "permission_denied",
        40300,
        403,
        "没有权限执行此操作",
        "You do not have permission to do this.",
    ),
    (
        "not_owner",
        40301,
        403,
        "只有活动创建者可以执行此操作",
        "Only the creator of this event can do this.",
    ),
    (
        "account_disabled",
        40302,
        403,
        "账号已被停用，无法执行此操作",
        "This account has been deactivated.",
    ),
    (
        "wechat_risky_user",
        40310,
        403,
        "微信判定当前账号存在风险，暂时无法登录",
        "WeChat flagged this account as high-risk; login is refused.",
    ),
    (
        "wechat_signature_invalid",
        40311,
        403,
        "微信回调签名无效",
        "The WeChat callback signature is invalid.",
    ),
    # A push whose timestamp is more than WECHAT_CALLBACK_MAX_SKEW_SECONDS from our clock.
    (
        "wechat_callback_stale",
        40312,
        403,
        "微信回调已过期",
        "The WeChat callback's timestamp is outside the accepted window.",
    ),
    # The same timestamp and nonce again while the first push is remembered: a replay.
    (
        "wechat_callback_replayed",
        40313,
        403,
        "微信回调重复",
        "This WeChat callback was already received.",
    ),
    # Plain mode signs only the timestamp and nonce, not the body: refused once a key is set.
    (
        "wechat_callback_plain_refused",
        40314,
        403,
        "微信回调必须使用安全模式",
        "WeChat callbacks must use the safe (encrypted) mode.",
    ),
    (
        "not_winner",
        40303,
        403,
        "只有中奖者可以领取奖品",
        "Only a winner of this event can claim a prize.",
    ),
    # PRIVACY_POLICY_VERSION is set and the caller has not accepted it (docs/privacy.md).
    (
        "privacy_consent_required",
        40320,
        403,
        "请先同意最新的隐私政策",
        "Accept the current privacy policy first.",
    ),
    (
        "entry_group_mismatch",
        40330,
        403,
        "本活动仅限指定微信群的成员参与，你所在的群不是该群",
        "This event is for another WeChat group.",
    ),
    (
        "entry_new_users_only",
        40331,
        403,
        "本活动仅限新用户参与",
        "This event is for new users only.",
    ),
    # The risk gate (WeChat's getUserRiskRank, scene "marketing cheating"): an automated
    # decision, so it says what decided it (data: rank and threshold).
    (
        "entry_risk_refused",
        40332,
        403,
        "微信安全评估认为当前账号存在营销作弊风险，本活动不允许参与",
        "WeChat's risk check rates this account at or above the event's limit.",
    ),
    (
        "entry_excluded",
        40333,
        403,
        "你已被发起人移出本活动，不能再次参与",
        "The creator excluded you from this event.",
    ),
    ("not_found", 40400, 404, "资源不存在", "Not found."),
    ("event_not_found", 40401, 404, "抽奖活动不存在", "The lottery event does not exist."),
    ("claim_not_found", 40402, 404, "领奖记录不存在", "The claim does not exist."),
    (
        "winner_not_found",
        40403,
        404,
        "该用户不是本活动的中奖者",
        "That user does not hold a prize in this event.",
    ),
    ("live_not_found", 40420, 404, "该活动不是现场开奖活动", "This event is not drawn live."),
    (
        "screen_link_invalid",
        40421,
        404,
        "大屏链接不存在或已被撤销",
        "The screen link does not exist or was revoked.",
    ),
    ("method_not_allowed", 40500, 405, "不支持该请求方法", "Method not allowed."),
    ("not_acceptable", 40600, 406, "无法提供所请求的格式", "Cannot satisfy the Accept header."),
    ("conflict", 40900, 409, "操作与当前状态冲突", "The request conflicts with the current state."),
    (
        "event_locked",
        40901,
        409,
        "活动已锁定，不能再参与或修改",
        "The event is locked: no more joins or edits.",
    ),
    ("event_drawn", 40902, 409, "活动已开奖", "The event has already been drawn."),
    ("event_canceled", 40903, 409, "活动已取消", "The event has been canceled."),
    (
        "event_has_entrants",
        40904,
        409,
        "已有用户参与，不能修改开奖时间和奖品",
        "People have joined: the draw time and prizes can no longer change.",
    ),
    ("event_not_drawn", 40905, 409, "活动尚未开奖", "The event has not been drawn yet."),
    ("event_not_locked", 40906, 409, "活动尚未锁定", "The event is not locked yet."),
    (
        "event_no_entrants",
        40907,
        409,
        "还没有人参与，不能开奖",
        "Nobody has joined yet: the event cannot be drawn.",
    ),
    (
        "claim_not_offered",
        40908,
        409,
        "该活动无需领奖",
        "This event has no claim step.",
    ),
    ("claim_expired", 40909, 409, "领奖期限已过", "The claim deadline has passed."),
    ("claim_shipped", 40910, 409, "奖品已发货，不能再修改", "The prize has already been shipped."),
    ("claim_not_claimed", 40911, 409, "中奖者尚未领奖", "The winner has not claimed yet."),
    (
        "conditions_frozen",
        40912,
        409,
        "已有用户参与，参与条件不能再修改",
        "People have joined: the entry conditions can no longer change.",
    ),
    (
        "entrant_not_flagged",
        40913,
        409,
        "只能移出被标记为可疑的参与者",
        "Only an entrant who is flagged can be excluded.",
    ),
    (
        "privacy_version_outdated",
        40920,
        409,
        "隐私政策已更新，请阅读最新版本后再同意",
        "That is not the current privacy policy version: read the current one and accept it.",
    ),
    (
        "account_has_open_events",
        40921,
        409,
        "你发起的抽奖尚未结束或奖品尚未发出，请先处理后再注销账号",
        "Events you created are still open or have prizes to ship: settle them first.",
    ),
    ("live_already", 40930, 409, "活动已是现场开奖", "The event is already drawn live."),
    ("live_paused", 40931, 409, "现场开奖已暂停", "The live draw is paused."),
    ("live_ended", 40932, 409, "现场开奖已结束", "The live draw has ended."),
    (
        "live_round_in_progress",
        40933,
        409,
        "本轮正在开奖，请稍候",
        "A round is being drawn; wait for its result.",
    ),
    ("live_no_rounds_left", 40934, 409, "所有轮次都已开奖", "Every round has been drawn."),
    ("payload_too_large", 41300, 413, "请求体过大", "The request body is too large."),
    # A URL longer than API_MAX_URL_BYTES (path and query); longer ones still are refused by
    # nginx or gunicorn before they reach us (docs/api.md, "Limits").
    ("uri_too_long", 41400, 414, "请求地址过长", "The request URI is too long."),
    (
        "unsupported_media_type",
        41500,
        415,
        "不支持的请求体类型，请使用 application/json",
        "Unsupported media type: send application/json.",
    ),
    ("throttled", 42900, 429, "请求过于频繁，请稍后再试", "Too many requests; try again later."),
    (
        "wechat_rate_limited",
        42910,
        429,
        "微信接口调用过于频繁，请稍后再试",
        "WeChat is rate-limiting logins; try again later.",
    ),
    # Wrong passwords, answers or group data, per user and event (ENTRY_ATTEMPTS_LIMIT in
    # ENTRY_ATTEMPTS_WINDOW_SECONDS); data: {retry_after}.
    (
        "entry_attempts_exceeded",
        42920,
        429,
        "尝试次数过多，请稍后再试",
        "Too many wrong attempts; try again later.",
    ),
    ("internal_error", 50000, 500, "服务器内部错误", "Internal server error."),
    # WeChat answered with something we cannot use: an HTTP 5xx page other than 503/504, a
    # body that is not a JSON object, an errcode we do not know (wechat/client.py).
    (
        "wechat_bad_gateway",
        50200,
        502,
        "微信服务返回异常，请稍后再试",
        "WeChat returned an unexpected answer; try again later.",
    ),
    # No answer from WeChat (connection error, timeout), or WeChat said it is busy (HTTP
    # 503/504, errcode -1).
    (
        "wechat_unavailable",
        50300,
        503,
        "微信服务暂时不可用，请稍后再试",
        "WeChat is unavailable right now; try again later.",
    ),
    ("service_unavailable", 50301, 503, "服务暂时不可用", "Service temporarily unavailable."),
    # The risk gate got no answer from WeChat and the event's creator chose to refuse then.
    (
        "entry_risk_unavailable",
        50303,
        503,
        "微信安全评估暂时不可用，本活动暂不接受参与，请稍后再试",
        "WeChat's risk check is unavailable and this event refuses joins meanwhile; retry later.",
    ),
    # No CLAIM_ENCRYPTION_KEYS with DEBUG off (or a key that cannot read a stored claim).
    (
        "claims_unavailable",
        50302,
        503,
        "领奖服务暂不可用，请稍后再试",
        "Prize claims are unavailable right now; try again later.",
    ),
)


def message_for(kind: ErrorKind) -> str:
    language = translation.get_language() or "zh-hans"
    return kind.en if language.startswith("en") else kind.zh


class ApplicationError(Exception):
    """A refusal the API explains to its caller: raised by services, rendered by the handler."""

    def __init__(self, name: str, *, data: Any = None, detail: str | None = None):
        if name not in CATALOGUE:
            raise KeyError(f"unknown error name {name!r}")
        self.name = name
        self.kind = CATALOGUE[name]
        self.data = data
        self.detail = detail
        super().__init__(detail or name)
