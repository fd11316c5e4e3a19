"""Django under ASGI: the push process of `serve --production` (uvicorn), which serves the agents' screen-pop as
server-sent events (telephony/stream.py). The pages and the API stay on gunicorn (omniguichet.wsgi)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
application = get_asgi_application()
