"""The limits an event must respect, read from where they are enforced (for ``GET /config``).

Nothing here is a second copy: lengths come from the input serializers that check them, the
prize rules from ``events.services.events``, the time rules from the settings the services read.
A client that validates with these numbers refuses exactly what the server would.
"""

from django.conf import settings

from events import conditions, models
from events import serializers as s
from lottery_site.errors import CATALOGUE


def event_limits() -> dict:
    create = s.EventCreateInput().fields
    prize = s.PrizeInput().fields
    return {
        "title_length": _length(create["title"]),
        "description_max_length": create["description"].max_length,
        "prizes": {"min": create["prizes"].min_length, "max": models.MAX_PRIZES},
        "prize_name_length": _length(prize["name"]),
        "prize_quantity": {"min": prize["quantity"].min_value, "max": models.MAX_PRIZE_QUANTITY},
        "total_quantity_max": models.MAX_TOTAL_QUANTITY,
        "target_participants": {
            "min": create["target_participants"].min_value,
            "max": create["target_participants"].max_value,
        },
        "cancel_reason_max_length": s.CancelInput().fields["reason"].max_length,
        "min_draw_lead_seconds": settings.LOTTERY_MIN_DRAW_LEAD_SECONDS,
        "lock_lead_seconds": settings.LOTTERY_LOCK_LEAD_SECONDS,
        "max_horizon_seconds": settings.LOTTERY_MAX_HORIZON_DAYS * 86_400,
    }


def _length(field) -> dict:
    return {"min": field.min_length or 0, "max": field.max_length}


def condition_rules() -> dict:
    """What a client needs to offer entry conditions and render them (``GET /config``)."""
    conditions_input = s.ConditionsInput().fields
    new_users = s.NewUsersInput().fields
    question = s.QuestionInput().fields
    risk = s.RiskInput().fields
    return {
        "kinds": list(conditions.KINDS),
        "password_max_length": conditions_input["password"].max_length,
        "new_users": {
            "rules": list(new_users["rule"].choices),
            "days": {"min": new_users["days"].min_value, "max": new_users["days"].max_value},
        },
        "question": {
            "text_length": _length(question["text"]),
            "choices": {
                "min": question["choices"].min_length,
                "max": question["choices"].max_length,
            },
            "choice_length": _length(question["choices"].child),
        },
        "risk": {
            "threshold": {"min": risk["threshold"].min_value, "max": risk["threshold"].max_value},
            "when_unavailable": list(risk["when_unavailable"].choices),
            "scene": "marketing",
        },
        "attempts": {
            "limit": settings.ENTRY_ATTEMPTS_LIMIT,
            "window_seconds": settings.ENTRY_ATTEMPTS_WINDOW_SECONDS,
        },
        # What WeChat's rules (运营规范 5.1) forbid, and the error each field is refused with.
        "forbidden": [
            {"code": CATALOGUE[name].code, "name": name, "fields": list(fields)}
            for name, fields in conditions.FORBIDDEN.items()
        ],
    }
