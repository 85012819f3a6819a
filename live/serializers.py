"""Input and output shapes of the live API (docs/live.md). The outputs are dicts built by
``live.selectors`` and ``live.presentation``: what anyone may see."""

from rest_framework import serializers

from live.services import MAX_ROUNDS
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer

HEX64 = {"min_length": 64, "max_length": 64}
# Named enums of the OpenAPI document (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
ROUND_STATUSES = ["planned", "locked", "drawn"]
PHASES = ["open", "locked", "paused", "ended", "canceled"]
MESSAGE_TYPES = ["started", "joins", "locked", "round_locked", "round_drawn", "paused", "resumed",
                 "ended", "screen_revoked"]  # fmt: skip


class LiveStartInput(InputSerializer):
    rounds = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(max_length=24), min_length=1),
        min_length=1,
        max_length=MAX_ROUNDS,
        required=False,
        help_text="the prize ids each round draws, in the order the rounds are drawn; by "
        "default one round per prize, the lowest tier first",
    )


class LivePrizeOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class LivePrizeName(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class LiveEntrantOutput(serializers.Serializer):
    name = serializers.CharField(help_text="masked: 张*丰")
    avatar = serializers.CharField(help_text="avatar URL; empty: none")


class LiveWinnerOutput(LiveEntrantOutput):
    id = serializers.CharField(help_text="the winner's public user id (as in the proof)")
    prize = LivePrizeName()


class LiveUnawardedOutput(serializers.Serializer):
    prize = LivePrizeName()
    quantity = serializers.IntegerField()


class LiveRoundOutput(serializers.Serializer):
    round = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ROUND_STATUSES)
    prizes = LivePrizeOutput(many=True)
    commitment = serializers.CharField(**HEX64)
    entrant_count = serializers.IntegerField(required=False, allow_null=True)
    entrants_digest = serializers.CharField(required=False)
    round_digest = serializers.CharField(required=False)
    previous_result = serializers.CharField(required=False)
    beacon_round = serializers.IntegerField(required=False, allow_null=True)
    locked_at = serializers.DateTimeField(required=False, allow_null=True)
    reveal_at = serializers.DateTimeField(required=False, allow_null=True)
    winners = LiveWinnerOutput(many=True, required=False)
    unawarded = LiveUnawardedOutput(many=True, required=False)
    seed = serializers.CharField(required=False)
    beacon = serializers.JSONField(required=False, allow_null=True)
    result_digest = serializers.CharField(required=False)
    drawn_at = serializers.DateTimeField(required=False, allow_null=True)


class LiveEventRef(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()


class LiveStateOutput(serializers.Serializer):
    seq = serializers.IntegerField(help_text="the log's last message as of this state")
    event = LiveEventRef()
    phase = serializers.ChoiceField(choices=PHASES)
    count = serializers.IntegerField(help_text="entrants")
    entrants_digest = serializers.CharField(allow_null=True)
    wall = LiveEntrantOutput(many=True, help_text="the newest entrants, newest first")
    rounds = LiveRoundOutput(many=True)


class LiveMessageOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.ChoiceField(choices=MESSAGE_TYPES)
    at = serializers.DateTimeField()
    data = serializers.DictField(help_text="the message's content, by type (docs/live.md)")


class LiveMessagesOutput(serializers.Serializer):
    messages = LiveMessageOutput(many=True)
    seq = serializers.IntegerField(help_text="the last message returned; ask again after it")


class LiveRoundWinner(serializers.Serializer):
    user = serializers.DictField(child=serializers.CharField())
    prize = serializers.DictField(child=serializers.CharField())


class LiveRoundProofOutput(serializers.Serializer):
    round = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ROUND_STATUSES)
    commitment = serializers.CharField(**HEX64)
    prizes = LivePrizeOutput(many=True)
    prizes_digest = serializers.CharField(allow_null=True)
    previous_result = serializers.CharField(allow_null=True)
    round_digest = serializers.CharField(allow_null=True)
    entrant_count = serializers.IntegerField(allow_null=True)
    entrants_digest = serializers.CharField(allow_null=True)
    locked_at = serializers.DateTimeField(allow_null=True)
    reveal_gap_seconds = serializers.IntegerField(allow_null=True)
    beacon_chain = serializers.JSONField(allow_null=True)
    beacon_round = serializers.IntegerField(allow_null=True)
    without_beacon = serializers.BooleanField()
    beacon = serializers.JSONField(allow_null=True)
    seed = serializers.CharField(allow_null=True)
    drawn_at = serializers.DateTimeField(allow_null=True)
    winners = LiveRoundWinner(many=True)
    unawarded = LiveUnawardedOutput(many=True)
    result_digest = serializers.CharField(allow_null=True)


class LiveProofOutput(serializers.Serializer):
    algorithm = serializers.CharField()
    event_id = serializers.CharField()
    entrant_count = serializers.IntegerField(allow_null=True)
    entrants_digest = serializers.CharField(allow_null=True)
    rounds = LiveRoundProofOutput(many=True)


class ScreenOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    created_at = AwareDateTimeField()
    revoked_at = AwareDateTimeField(allow_null=True)


class ScreenCreatedOutput(ScreenOutput):
    url = serializers.CharField(help_text="the screen's link: shown only now, keep it private")
