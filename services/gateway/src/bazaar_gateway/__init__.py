"""Bazaar's API gateway: routes from the services' OpenAPI contracts, bearer-token checks at the
edge, round-robin load balancing, and a lean streaming reverse proxy (pure ASGI + aiohttp).

    settings.py     Settings (env vars)
    routes.py       contracts → route table, matching (404/405)
    edge_auth.py    bearer tokens on protected routes (401)
    headers.py      hop-by-hop stripping, X-Forwarded-*
    upstreams.py    one pooled aiohttp session per service, round robin, health checks
    proxy.py        forwarding and streaming (413/502/504)
    app.py          the ASGI app: own endpoints, dispatch, lifespan, access log
    bootstrap.py    create_app(settings, token_verifier=None)
"""
