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


class ConfigOutput(serializers.Serializer):
    server_time = AwareDateTimeField(
        help_text="Now, on the server: base countdowns on it, not on the phone's clock."
    )
    api_version = serializers.CharField(
        help_text="The API's version (semver), the same as the OpenAPI document's info.version."
    )
    subscribe_templates = TemplatesOutput()
    limits = LimitsOutput()


EXAMPLE = {
    "server_time": "2026-12-01T20:00:00.123000+08:00",
    "api_version": "1.1.0",
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
}
