"""The demo store as a web application: Starlette (ASGI), served by uvicorn (the ``[browser]`` extra).

Stateless: a page's state is its URL (:meth:`Store.url`) plus the cart, which lives in a
cookie. ``GET`` any store URL renders :func:`full_page`; ``POST /do`` (fields ``a``: the
element's name, ``from``: the page's URL) applies the state machine's click and redirects
to the next page (303), setting the cart cookie. ``GET /_demo/{session_id}/{step}`` renders
one step of a demo corpus session with that session's store (the screenshots of the demo
corpus are taken there). Loopback by default; no external asset or link.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..core.types import Action
from ._machine import Store
from ._pages import STORE_CSS, STORE_JS, full_page, image_svg

__all__ = ["CART_COOKIE", "ORDER_COOKIE", "ServedStore", "create_app", "serve_in_thread"]

CART_COOKIE = "cart"
ORDER_COOKIE = "last_order"
_NO_CACHE = {"Cache-Control": "no-store"}


def _encode(lines: Sequence[Sequence[Any]]) -> str:
    return base64.urlsafe_b64encode(json.dumps([list(x) for x in lines], separators=(",", ":")).encode()).decode()


def _decode(value: str | None) -> list[list[Any]]:
    if not value:
        return []
    try:
        lines = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        return []
    ok = isinstance(lines, list) and all(
        isinstance(x, list) and len(x) == 4 and isinstance(x[0], int) and isinstance(x[3], int) for x in lines)
    return lines if ok else []


def _not_found(what: str) -> HTMLResponse:
    body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
            f'<link rel="stylesheet" href="/static/store.css"></head><body><main class="panel"><h1>Not found</h1>'
            f'<p>{what}</p><a href="/" data-shop-name="not_found.home">Go to the home page</a></main></body></html>')
    return HTMLResponse(body, status_code=404, headers=_NO_CACHE)


def create_app(store: Store | None = None) -> Starlette:
    """The ASGI application serving ``store`` (default: :class:`Store` with the default catalogue)."""
    store = store or Store()
    demo_stores: OrderedDict[str, Store] = OrderedDict()

    def state_of(request: Request, url: str) -> dict[str, Any] | None:
        cart = [x for x in _decode(request.cookies.get(CART_COOKIE)) if 0 <= x[0] < len(store.products)]
        if url.split("?", 1)[0].rstrip("/") == "/order/thank-you":
            lines = [x for x in _decode(request.cookies.get(ORDER_COOKIE)) if 0 <= x[0] < len(store.products)]
            return {"p": "order", "ol": lines}
        return store.state_from_url(url, cart)

    async def page(request: Request) -> Response:
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        state = state_of(request, url)
        if state is None:
            return _not_found("There is no page at this address in the demo store.")
        return HTMLResponse(full_page(store, state), headers=_NO_CACHE)

    async def act(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        name, back = form.get("a", ""), form.get("from", "/")
        state = state_of(request, back) if back.startswith("/") else None
        if state is None or not name:
            return PlainTextResponse("bad request: a form needs 'a' (a name) and 'from' (a store URL)", status_code=400)
        transition = store.step(state, Action.click(name))
        new = transition.state
        target = "/order/thank-you" if new["p"] == "order" else store.url(new)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(CART_COOKIE, _encode(new.get("c", ())), httponly=True, samesite="lax")
        if new["p"] == "order":
            response.set_cookie(ORDER_COOKIE, _encode(new.get("ol", ())), httponly=True, samesite="lax")
        return response

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "store.css":
            return Response(STORE_CSS, media_type="text/css")
        if name == "store.js":
            return Response(STORE_JS, media_type="text/javascript")
        return PlainTextResponse("not found", status_code=404)

    async def image(request: Request) -> Response:
        return Response(image_svg(request.path_params["name"]), media_type="image/svg+xml")

    async def demo_step(request: Request) -> Response:
        from ..demo import DemoCorpus

        sid, k = request.path_params["session_id"], request.path_params["step"]
        spec = None
        for split in ("train", "valid", "test"):
            corpus = DemoCorpus(split, cache_size=0)
            if sid in corpus.session_ids():
                spec = corpus.spec(corpus.index_of(sid))
                break
        if spec is None or not 0 <= k < len(spec["steps"]):
            return _not_found(f"no step {k} of a demo corpus session {sid!r}")
        demo = demo_stores.get(sid)
        if demo is None:
            demo = demo_stores[sid] = Store(sid, spec["goal"])
            if len(demo_stores) > 32:
                demo_stores.popitem(last=False)
        return HTMLResponse(full_page(demo, spec["steps"][k]["page"]), headers=_NO_CACHE)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/do", act, methods=["POST"]),
        Route("/static/{name}", static),
        Route("/img/{name}.svg", image),
        Route("/favicon.ico", favicon),
        Route("/_demo/{session_id}/{step:int}", demo_step),
        Route("/{path:path}", page),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    return app


class ServedStore:
    """A store served by uvicorn in a background thread (``with serve_in_thread() as served:``).

    ``url`` is the base URL (``http://127.0.0.1:PORT``); :meth:`stop` shuts the server down.
    """

    def __init__(self, server: Any, thread: threading.Thread, host: str, port: int) -> None:
        self.server, self.thread, self.host, self.port = server, thread, host, port
        self.url = f"http://{host}:{port}"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> ServedStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_in_thread(store: Store | None = None, *, host: str = "127.0.0.1", port: int = 0,
                    timeout: float = 10.0) -> ServedStore:
    """Serve ``store`` on ``host:port`` (0: a free port) in a daemon thread; returns once it accepts connections."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(create_app(store), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="shop-store")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the store's server did not start")
        time.sleep(0.01)
    return ServedStore(server, thread, host, sock.getsockname()[1])
