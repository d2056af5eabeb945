"""Several services' HTTP apps behind one port (the one-process demo): each request goes to
the app that has a route for it. The apps stay as they are in production (their own state,
dependencies and error handlers); only the port is shared."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import Receive, Scope, Send


class SharedPort:
    def __init__(self, apps: Sequence[FastAPI]) -> None:
        if not apps:
            raise ValueError("nothing to serve")
        self.apps = list(apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the apps need no startup of their own
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app_for(scope)(scope, receive, send)

    def app_for(self, scope: Scope) -> FastAPI:
        """The first app with a route matching the path (a wrong method still picks it, so it
        answers 405); otherwise the first app, which answers 404."""
        for app in self.apps:
            for route in app.router.routes:
                match, _ = route.matches(scope)
                if match is not Match.NONE:
                    return app
        return self.apps[0]
