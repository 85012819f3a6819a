from rest_framework import serializers

from lottery_site.fields import AwareDateTimeField


class RangeOutput(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()


class TemplatesOutput(serializers.Serializer):
    """Only the kinds configured on the server; pass the values to wx.requestSubscribeMessage."""

    result = serializers.CharField(required=False, help_text="draw results (and summaries)")
    cancel = serializers.CharField(required=False, help_text="cancellations")
    shipped = serializers.CharField(required=False, help_text="a won prize was shipped")


class LimitsOutput(serializers.Serializer):
    title_length = RangeOutput()
    description_max_length = serializers.IntegerField()
    prizes = RangeOutput(help_text="number of prize tiers")
    prize_name_length = RangeOutput()
    prize_quantity = RangeOutput(help_text="of one prize tier")
    total_quantity_max = serializers.IntegerField(help_text="all tiers together")
    target_participants = RangeOutput()
    cancel_reason_max_length = serializers.IntegerField()
    min_draw_lead_seconds = serializers.IntegerField(help_text="draw_at at least this far ahead")
    lock_lead_seconds = serializers.IntegerField(help_text="lock_at = draw_at minus this")
    max_horizon_seconds = serializers.IntegerField(help_text="draw_at at most this far ahead")
    nickname_length = RangeOutput()


class NewUsersRulesOutput(serializers.Serializer):
    rules = serializers.ListField(child=serializers.CharField())
    days = RangeOutput()


class QuestionRulesOutput(serializers.Serializer):
    text_length = RangeOutput()
    choices = RangeOutput(help_text="how many choices")
    choice_length = RangeOutput()


class RiskRulesOutput(serializers.Serializer):
    threshold = RangeOutput(help_text="WeChat's risk rank (0-4) from which a join is refused")
    when_unavailable = serializers.ListField(child=serializers.CharField())
    scene = serializers.CharField(help_text="getUserRiskRank's scene: marketing (营销作弊)")


class AttemptsOutput(serializers.Serializer):
    limit = serializers.IntegerField(help_text="wrong passwords, answers or group data...")
    window_seconds = serializers.IntegerField(help_text="...per user and event in this window")


class ForbiddenRuleOutput(serializers.Serializer):
    code = serializers.IntegerField(help_text="the error a body with one of `fields` gets")
    name = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())


class ConditionRulesOutput(serializers.Serializer):
    """Entry conditions: the kinds, their limits, and what WeChat's rules (5.1) forbid."""

    kinds = serializers.ListField(child=serializers.CharField())
    password_max_length = serializers.IntegerField()
    new_users = NewUsersRulesOutput()
    question = QuestionRulesOutput()
    risk = RiskRulesOutput()
    attempts = AttemptsOutput()
    forbidden = ForbiddenRuleOutput(many=True)


class PrivacyPolicyOutput(serializers.Serializer):
    version = serializers.CharField(
        help_text='the version in force; "" none (consent not required). Send it as '
        "`privacy_version` at login once the user accepted the policy"
    )
    url = serializers.CharField(help_text="where the policy's text is (a page to show)")


class ConfigOutput(serializers.Serializer):
    server_time = AwareDateTimeField(
        help_text="Now, on the server: base countdowns on it, not on the phone's clock."
    )
    api_version = serializers.CharField(
        help_text="The API's version (semver), the same as the OpenAPI document's info.version."
    )
    subscribe_templates = TemplatesOutput()
    limits = LimitsOutput()
    conditions = ConditionRulesOutput()
    privacy_policy = PrivacyPolicyOutput()


EXAMPLE = {
    "server_time": "2026-12-01T20:00:00.123000+08:00",
    "api_version": "1.2.0",
    "subscribe_templates": {"result": "tmpl-result-id", "cancel": "tmpl-cancel-id"},
    "limits": {
        "title_length": {"min": 1, "max": 100},
        "description_max_length": 2000,
        "prizes": {"min": 1, "max": 20},
        "prize_name_length": {"min": 1, "max": 50},
        "prize_quantity": {"min": 1, "max": 10000},
        "total_quantity_max": 100000,
        "target_participants": {"min": 1, "max": 10000000},
        "cancel_reason_max_length": 200,
        "min_draw_lead_seconds": 300,
        "lock_lead_seconds": 60,
        "max_horizon_seconds": 2592000,
        "nickname_length": {"min": 1, "max": 64},
    },
    "conditions": {
        "kinds": ["password", "group", "new_users", "question", "risk"],
        "password_max_length": 32,
        "new_users": {"rules": ["after_event", "within_days"], "days": {"min": 1, "max": 365}},
        "question": {
            "text_length": {"min": 1, "max": 200},
            "choices": {"min": 2, "max": 6},
            "choice_length": {"min": 1, "max": 50},
        },
        "risk": {
            "threshold": {"min": 1, "max": 4},
            "when_unavailable": ["admit", "refuse"],
            "scene": "marketing",
        },
        "attempts": {"limit": 5, "window_seconds": 600},
        "forbidden": [
            {"code": 40050, "name": "rule_follow_forbidden", "fields": ["require_follow"]},
            {"code": 40051, "name": "rule_share_forbidden", "fields": ["extra_chances_for_share"]},
            {"code": 40052, "name": "rule_paid_entry_forbidden", "fields": ["entry_fee"]},
            {"code": 40053, "name": "rule_fake_count_forbidden", "fields": ["display_count"]},
        ],
    },
    "privacy_policy": {"version": "2026-12-01", "url": "https://lottery.example.com/privacy"},
}
