"""Container health check: GET /health from the local gunicorn; exit 0 when healthy.

Django refuses a Host that is not in DJANGO_ALLOWED_HOSTS, so the check asks as the
first listed host rather than as 127.0.0.1. Standard library only: it runs every few
seconds, and importing Django each time would cost more than the request.
"""

import os
import sys
import urllib.request


def main() -> int:
    """Return 0 when /health answers 200, else 1."""
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    # ".example.org" allows example.org and its subdomains; "*" allows anything.
    host = next((h.lstrip(".") for h in hosts if h and h != "*"), "localhost")
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health", headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
