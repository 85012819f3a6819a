"""WeChat's server API: the HTTP client, the access token, login sessions, subscribe messages,
content security (and the callback that brings its verdicts) and mini-program codes.

A base package, beside ``lottery_site`` and below every app: it imports only ``lottery_site``,
Django's settings and cache, and libraries; ``accounts``, ``events`` and ``notifications`` call
it. It has no models: what must be stored (users, uploads, the callback's nonces) stays with the
app that owns it, which passes in what WeChat needs (an openid, a URL).
"""
