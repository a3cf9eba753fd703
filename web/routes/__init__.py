"""The workspace's page families, one router each (wired by web/served.py under /w)."""

from web.routes import alerts, auth, household, metrics, network, pack, people, review, runs, search

ROUTERS = [auth.router, search.router, people.router, household.router, network.router, alerts.router,
           review.router, runs.router, pack.router, metrics.router]
