"""Serializer bases shared by every app."""

from django.utils.translation import gettext as _
from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know.

    Silently dropping unknown keys would let a client believe it set ``status`` or ``creator``;
    naming them in a 400 is the honest answer (and stops mass-assignment attempts cold).
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field: %(name)s") % {"name": name}] for name in unknown}
                )
        return super().to_internal_value(data)
