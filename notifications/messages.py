"""What each WeChat message says, and which configured template carries it.

Templates come from the environment (``NOTIFY_TEMPLATES`` in settings): an id, and a mapping
from our field names to the template's data keys, e.g. ``title=thing1,result=thing2``. Values are
fitted to WeChat's limits by ``wechat.subscribe.build_template_data`` (a ``thing`` at
most 20 characters, times in Asia/Shanghai).
"""

import logging
from datetime import datetime

from django.conf import settings

from wechat.subscribe import build_template_data

logger = logging.getLogger(__name__)

# Delivery kind -> the configured template that carries it (the creator's summary is a result).
TEMPLATE_OF_KIND = {
    "result": "result",
    "summary": "result",
    "cancel": "cancel",
    "shipped": "shipped",
    "offered": "result",
    "disqualified": "result",
}

# Why a creator may disqualify a winner (events.models.Substitution.Reason), as the winner reads
# it: at most 7 characters, so "中奖资格已取消：<why>" fits a template's 20-character ``thing``.
DISQUALIFIED_BECAUSE = {
    "fake_account": "虚假账号",
    "duplicate_account": "重复账号",
    "ineligible": "不符合参与条件",
    "rule_violation": "违反活动规则",
}


def template_id_for(kind: str) -> str:
    """The WeChat template id of a delivery kind; "" when that template is not configured."""
    return settings.NOTIFY_TEMPLATES.get(TEMPLATE_OF_KIND[kind], {}).get("id", "")


def known_template_ids() -> set[str]:
    return {template["id"] for template in settings.NOTIFY_TEMPLATES.values() if template["id"]}


def page_for(event_public_id: str) -> str:
    return settings.NOTIFY_PAGE.format(event_id=event_public_id)


def result_fields(*, title: str, drawn_at: datetime, prize_name: str | None) -> dict:
    return {
        "title": title,
        "result": f"恭喜中奖：{prize_name}" if prize_name else "很遗憾，未中奖",
        "prize": prize_name or "未中奖",
        "draw_at": drawn_at,
        "remark": "点击查看开奖结果",
    }


def summary_fields(
    *, title: str, drawn_at: datetime, entrants: int, winners: int, unawarded: int
) -> dict:
    return {
        "title": title,
        "result": f"{entrants}人参与，{winners}人中奖",
        "prize": f"{unawarded}份奖品未送出" if unawarded else "奖品已全部送出",
        "draw_at": drawn_at,
        "remark": f"{entrants}人参与，{winners}人中奖，{unawarded}份未送出",
    }


def cancel_fields(*, title: str, reason: str, canceled_at: datetime) -> dict:
    return {
        "title": title,
        "reason": reason or "活动已被取消",
        "canceled_at": canceled_at,
        "remark": "活动已取消，不会开奖",
    }


def shipped_fields(*, title: str, prize_name: str, carrier: str, tracking_number: str) -> dict:
    return {
        "title": title,
        "prize": prize_name,
        "carrier": carrier,
        "tracking_number": tracking_number,
        "remark": "奖品已发货，请注意查收",
    }


def disqualified_fields(
    *, title: str, prize_name: str, reason: str, disqualified_at: datetime
) -> dict:
    because = DISQUALIFIED_BECAUSE.get(reason, "")
    return {
        "title": title,
        "result": f"中奖资格已取消：{because}" if because else "中奖资格已取消",
        "prize": prize_name,
        "draw_at": disqualified_at,
        "remark": "奖品已按开奖顺序转给下一位参与者",
    }


def template_data(kind: str, fields: dict) -> dict[str, dict[str, str]]:
    """Our fields under the template's keys, each fitted to its key's WeChat limit."""
    mapping = settings.NOTIFY_TEMPLATES[TEMPLATE_OF_KIND[kind]]["fields"]
    return build_template_data(
        {key: fields[ours] for ours, key in mapping.items() if ours in fields}
    )
