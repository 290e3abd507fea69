"""``python -m bazaar_notifications``: read the environment, build the app, serve it."""

from __future__ import annotations

from chassis import load_settings, serve

from .bootstrap import create_app
from .settings import Settings


def main() -> None:
    settings = load_settings(Settings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
