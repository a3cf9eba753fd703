"""The analysts' web workspace: server-rendered pages over the HTTP API, served by ``intel serve``.

``served_app(...)`` (web/served.py) builds the one application ``intel serve`` runs: the API
(api.app.create_app) with the workspace's pages mounted on it. The pages read and change nothing
themselves: every page asks the API in-process (web/backend.py) with the signed-in user's token
and the purpose they stated, so roles, the restricted lens and the audit are the API's own.
"""

from web.served import mount, served_app

__all__ = ["mount", "served_app"]
