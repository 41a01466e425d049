"""``PORT=18100 FLOWER_PORT=15600 make run``: the links the local run hands out (waitlist
emails, the admin's Flower links) follow the ports it serves on, unless set explicitly.

The environment comes from the run script's own ``scripts/local-env.sh`` (what
``scripts/run-local.sh`` sources before it starts anything) and the settings are the real
``config.settings.local``, read in a fresh process as web and workers read them."""

import json
import os
import subprocess

from tests.support.processes import ROOT

PYTHON = str(ROOT / ".venv" / "bin" / "python")
PRINT_LINKS = """
import json, django
django.setup()
from django.conf import settings
from jobs.web.admin import flower_link
print(json.dumps({
    "waitlist": settings.WAITLIST_PUBLIC_BASE_URL,
    "flower": settings.FLOWER_URL,
    "flower_link": flower_link("/workers"),
}))
"""
# What a developer's shell would not have set; the test sets what it needs.
UNSET = (
    "DJANGO_SETTINGS_MODULE",
    "PORT",
    "WEB_PORT",
    "FLOWER_PORT",
    "FLOWER_URL",
    "WAITLIST_PUBLIC_BASE_URL",
    "DATABASE_URL",
)


def _links(command: list[str], **env: str) -> dict:
    clean = {name: value for name, value in os.environ.items() if name not in UNSET}
    # A SECRET_KEY of its own keeps the local settings from writing var/secret_key.
    clean.update(SECRET_KEY="local-run-ports-test-" + "x" * 40, **env)
    out = subprocess.run(
        command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def local_run_links(**env: str) -> dict:
    """The links as the processes of ``make run`` (scripts/run-local.sh) see them."""
    script = 'set -euo pipefail; source scripts/local-env.sh; exec "$0" -c "$1"'
    return _links(["bash", "-c", script, PYTHON, PRINT_LINKS], **env)


def test_the_links_follow_the_ports_of_the_local_run():
    links = local_run_links(PORT="18100", FLOWER_PORT="15600")

    assert links["waitlist"] == "http://127.0.0.1:18100"
    assert links["flower"] == "http://127.0.0.1:15600"
    assert 'href="http://127.0.0.1:15600/workers"' in links["flower_link"]


def test_the_default_ports_and_explicit_urls_still_win():
    defaults = local_run_links()
    assert (defaults["waitlist"], defaults["flower"]) == (
        "http://127.0.0.1:8000",
        "http://127.0.0.1:5555",
    )

    explicit = local_run_links(
        PORT="18100",
        FLOWER_PORT="15600",
        WAITLIST_PUBLIC_BASE_URL="https://waitlist.example",
        FLOWER_URL="https://flower.example",
    )
    assert (explicit["waitlist"], explicit["flower"]) == (
        "https://waitlist.example",
        "https://flower.example",
    )


def test_the_local_settings_alone_derive_the_urls_from_the_ports():
    """A process started without the run script (a second worker, ``manage.py shell``)
    given only the ports derives the same URLs."""
    links = _links(
        [PYTHON, "-c", PRINT_LINKS],
        DJANGO_SETTINGS_MODULE="config.settings.local",
        WEB_PORT="18100",
        FLOWER_PORT="15600",
    )
    assert (links["waitlist"], links["flower"]) == (
        "http://127.0.0.1:18100",
        "http://127.0.0.1:15600",
    )
