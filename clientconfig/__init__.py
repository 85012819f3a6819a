"""``GET /api/v1/config``: what the mini-program must know from the server.

It sits above the apps it reads (accounts, events, and the notification settings), next to
draws and notifications, so no app reaches sideways for it. No models: not an installed app.
"""
