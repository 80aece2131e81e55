"""The demo store, in-process and as a web application.

- :class:`Store` is the store as a state machine: :meth:`Store.page` gives the simplified
  page of a state (the demo corpus's dialect and names), :meth:`Store.step` the next state
  for an action (:class:`Transition`), :meth:`Store.url` / :meth:`Store.state_from_url`
  map states to the served store's URLs and back. Its catalogue is the demo generator's
  (``Store(session_key, goal)``; ``Store.from_session(id)`` for a demo corpus session's).
  In-process, no browser, core install only.
- :func:`full_page` renders a state as a full page of a real store (layout, CSS, a script,
  hidden elements, images, working forms) whose elements carry ``data-shop-name``, so it
  simplifies to the same names (core install only).
- :mod:`shop_env.store.app` serves it (Starlette on uvicorn; the ``[browser]`` extra):
  ``python -m shop_env.store serve [--host 127.0.0.1] [--port P]``.

docs/BROWSER.md has the details.
"""

from ._machine import DEFAULT_GOAL, DEFAULT_SESSION_KEY, PAGE_KINDS, Store, Transition, state_key
from ._pages import full_page

__all__ = [
    "DEFAULT_GOAL",
    "DEFAULT_SESSION_KEY",
    "PAGE_KINDS",
    "Store",
    "Transition",
    "full_page",
    "state_key",
]
