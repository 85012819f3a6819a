"""Input and output shapes of the claim endpoints (events.claim_views)."""

from rest_framework import serializers

from accounts.serializers import UserOutput
from events.models import Event
from events.serializers import PrizeRefOutput
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer

CLAIM_STATES = ("unclaimed", "claimed", "shipped", "expired")


class AddressInput(InputSerializer):
    """The fields of ``wx.chooseAddress`` (userName, telNumber, provinceName...), renamed."""

    name = serializers.CharField(max_length=50)
    phone = serializers.RegexField(r"^[0-9+\- ]{5,20}$", max_length=20)
    province = serializers.CharField(max_length=30)
    city = serializers.CharField(max_length=30)
    county = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    detail = serializers.CharField(max_length=200)
    postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class ClaimInput(InputSerializer):
    address = AddressInput(required=False, help_text="`shipping` delivery only (required there).")


class ClaimListQuery(serializers.Serializer):
    """The creator's filter on the claims list and exports: one state (all when absent)."""

    state = serializers.ChoiceField(
        choices=CLAIM_STATES, required=False, help_text="Only the winners whose claim is in it."
    )


class ClaimPageQuery(ClaimListQuery):
    cursor = serializers.CharField(required=False, max_length=500)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False, default=20)


class ShipInput(InputSerializer):
    carrier = serializers.CharField(max_length=50)
    tracking_number = serializers.CharField(max_length=50)


class AddressOutput(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    province = serializers.CharField()
    city = serializers.CharField()
    county = serializers.CharField()
    detail = serializers.CharField()
    postal_code = serializers.CharField()


class MyClaimOutput(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    delivery = serializers.ChoiceField(choices=Event.Delivery.values)
    state = serializers.ChoiceField(choices=CLAIM_STATES)
    deadline = AwareDateTimeField()
    contact_note = serializers.CharField(help_text="`contact` delivery: how to reach the creator.")
    code = serializers.CharField(help_text="`code` delivery: this winner's own redeem code.")
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = AwareDateTimeField(allow_null=True)


class ClaimRowOutput(serializers.Serializer):
    """One winner as their event's creator sees them, personal data decrypted (and audited)."""

    id = serializers.CharField(allow_null=True, help_text="null until the winner claims")
    user = UserOutput()
    prize = PrizeRefOutput()
    state = serializers.ChoiceField(choices=CLAIM_STATES)
    deadline = AwareDateTimeField()
    address = AddressOutput(allow_null=True)
    code = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    claimed_at = AwareDateTimeField(allow_null=True)
    shipped_at = AwareDateTimeField(allow_null=True)
    erased = serializers.BooleanField(help_text="personal data erased after the claim closed")
