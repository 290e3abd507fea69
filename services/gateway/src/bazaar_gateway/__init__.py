"""Bazaar's API gateway: routes from the services' OpenAPI contracts, bearer-token checks at the
edge, round-robin load balancing, and a lean streaming reverse proxy (pure ASGI + aiohttp),
protected by admission control, per-client rate limits, per-upstream circuit breakers and
bulkheads, deadlines, and a catalog fallback.

    settings.py         Settings (env vars)
    routes.py           contracts → route table, matching (404/405)
    route_policies.py   per operation: its rate limit, metric children, catalog or not
    edge_auth.py        bearer tokens on protected routes (401), the token's subject
    client_identity.py  the client address (X-Forwarded-For only from TRUSTED_PROXIES)
    rate_limits.py      token buckets per (client, limit), RateLimit-* headers (429)
    catalog_cache.py    last good catalog answers, served marked "cached": true
    headers.py          hop-by-hop stripping, X-Forwarded-*
    upstreams.py        pooled aiohttp session, round robin, breaker, bulkhead, health checks
    proxy.py            forwarding and streaming (413/502/503/504, fallback)
    app.py              the ASGI app: admission, own endpoints (/health /ready /metrics),
                        dispatch, limits, lifespan, access log
    bootstrap.py        create_app(settings, token_verifier=None)
"""
