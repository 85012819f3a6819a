"""What live messages and the live state show: only what anyone may see.

Names are masked (张*三), avatars and public ids shown, digests and seeds as the proofs carry
them. Every socket and the polling endpoints get exactly these shapes, whoever asks: a screen,
an entrant, an outsider.
"""

from datetime import datetime

from accounts.models import User
from accounts.serializers import picture_url
from events.models import Event, Prize
from live.models import LiveRound

ANONYMOUS = "匿名用户"


def mask(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, Alice -> A***e: enough to recognise oneself, no more."""
    name = (name or "").strip()
    if not name:
        return ANONYMOUS
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 3) + name[-1]


def avatar(user: User) -> str:
    if user.avatar_id is not None:
        return picture_url(user.avatar)
    return user.avatar_url or ""


def entrant(user: User) -> dict:
    return {"name": mask(user.nickname), "avatar": avatar(user)}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def prize_list(event: Event, this: LiveRound) -> list[dict]:
    prizes = [p for p in event.prizes.all() if p.public_id in this.prizes]
    return [prize(p) for p in sorted(prizes, key=lambda p: p.position)]


def prize(p: Prize) -> dict:
    return {"id": p.public_id, "name": p.name, "quantity": p.quantity}


def round_locked(this: LiveRound, event: Event) -> dict:
    return {
        "round": this.number,
        "prizes": prize_list(event, this),
        "commitment": this.commitment,
        "entrant_count": this.entrant_count,
        "entrants_digest": this.entrants_digest,
        "round_digest": this.round_digest,
        "previous_result": this.previous_result,
        "beacon_round": this.beacon_round,
        "locked_at": iso(this.locked_at),
        "reveal_at": iso(this.reveal_at),
    }


def round_drawn(this: LiveRound, event: Event) -> dict:
    return {
        "round": this.number,
        "prizes": prize_list(event, this),
        "winners": winners(this),
        "unawarded": unawarded(this, event),
        "seed": bytes(this.seed).hex(),
        "beacon": this.beacon,
        "result_digest": this.result_digest,
        "drawn_at": iso(this.drawn_at),
    }


def winners(this: LiveRound) -> list[dict]:
    rows = this.winners.select_related("entry__user__avatar", "prize").order_by("rank")
    return [
        {
            **entrant(w.entry.user),
            "id": w.user_key,
            "prize": {"id": w.prize.public_id, "name": w.prize.name},
        }
        for w in rows
    ]


def unawarded(this: LiveRound, event: Event) -> list[dict]:
    given: dict[str, int] = {}
    for prize_id in this.winners.values_list("prize__public_id", flat=True):
        given[prize_id] = given.get(prize_id, 0) + 1
    left = []
    for p in prize_list(event, this):
        if p["quantity"] > given.get(p["id"], 0):
            left.append(
                {
                    "prize": {"id": p["id"], "name": p["name"]},
                    "quantity": p["quantity"] - given.get(p["id"], 0),
                }
            )
    return left
