"""What accounts tells the apps above it, which it may not import (the arrows run one way:
lottery_site <- accounts <- events...). Sent after the transaction that made the change commits.
"""

from django.dispatch import Signal

# A ban or an unban was committed through ``accounts.services.user_deactivate`` /
# ``user_reactivate``: ``user_id``, ``is_active`` (False: banned), ``actor`` (a User or None),
# ``now``. Accounts knows nothing of what the apps above it show of a user; those that must act
# on a ban at once listen (events: the square drops a banned creator's events, and a banned
# user's entries leave the events not yet locked; see events.receivers).
ban_changed = Signal()
