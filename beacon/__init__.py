"""The public randomness beacon: the drand client (``beacon.drand``), its pinned chains, round
arithmetic, fetching and BLS verification of a round.

A base package, beside ``wechat`` and below every app: it imports only ``lottery_site`` (its
metrics), Django's settings and libraries; ``events`` (the chain pinned at creation), ``draws``
(the lock's round, the draw, alternates) and ``live`` call it. It has no models: what a draw
keeps of a round is stored by the app that draws.
"""
