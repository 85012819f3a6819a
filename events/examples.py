"""Realistic bodies for the OpenAPI document, so generated clients and mock servers look real."""

from drf_spectacular.utils import OpenApiExample

EVENT = {
    "id": "e_0123456789abcdef",
    "title": "新年抽奖",
    "description": "关注公众号参与抽奖",
    "draw_mode": "time",
    "visibility": "unlisted",
    "target_participants": None,
    "delivery": "none",
    "claim_days": 7,
    "creator": {
        "id": "u_0123456789abcdef",
        "nickname": "小明",
        "avatar_url": "https://thirdwx.qlogo.cn/avatar.png",
        "avatar": None,
    },
    "cover": {
        "url": "https://lottery.example.com/media/cover/e0123.jpg",
        "width": 1280,
        "height": 720,
    },
    "prizes": [
        {"id": "p_0123456789abcdef", "name": "一等奖", "quantity": 1, "image": None},
        {"id": "p_123456789abcdef0", "name": "二等奖", "quantity": 2, "image": None},
    ],
    "conditions": [{"kind": "password"}, {"kind": "new_users", "rule": "within_days", "days": 7}],
    "commitment": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "fairness": {
        "algorithm": "sha256-fisher-yates-v3",
        "beacon": True,
        "beacon_chain": {
            "hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
            "name": "League of Entropy quicknet",
        },
        "note": "开奖混入锁定后才公布的公共随机信标：任何人（包括平台）都无法预知或操纵结果。",
    },
    "created_at": "2026-12-01T20:00:00+08:00",
    "status": "init",
    "phase": "init",
    "joinable": True,
    "draw_at": "2026-12-01T21:00:00+08:00",
    "lock_at": "2026-12-01T20:59:00+08:00",
    "participant_count": 3,
    "cancel_reason": "",
    "beacon_wait": None,
    "my_entry": {"joined": False, "joined_at": None, "prize": None, "claim": None},
}


def event_response(name: str = "Event", **changes) -> OpenApiExample:
    return OpenApiExample(
        name, value={**EVENT, **changes}, response_only=True, status_codes=["200", "201"]
    )


def request(name: str, value: dict) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)
