"""The only write paths for lottery events, their prizes and their entries, by capability.

``events`` creates, edits and cancels an event (with the checks of its input, WeChat's text
check and its re-check); ``entries`` joins, withdraws, excludes and forgets entrants;
``sharing`` makes an event's share path and mini-program code; ``reports`` takes a user's
report and WeChat's rejection of a picture; ``refusals`` holds the refusals they share;
``retention`` blanks the anti-fraud signals of events finished long enough ago. Import from
those modules: this package re-exports nothing.
"""
