"""The workspace's page families, one router each (wired by web/served.py under /w)."""

from web.routes import alerts, auth, network, pack, people, review, runs

ROUTERS = [auth.router, people.router, network.router, alerts.router, review.router, runs.router, pack.router]
