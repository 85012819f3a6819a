"""What accounts tells the apps above it, which it may not import (the arrows run one way:
lottery_site <- accounts <- events...). Sent after the transaction that made the change commits.
"""

from django.dispatch import Signal

# A user was banned through ``accounts.services.user_deactivate``: ``user_id``, ``actor`` (a
# User or None), ``now``. events takes their entries out of events not yet locked.
user_deactivated = Signal()
