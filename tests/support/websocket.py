"""channels.testing's WebsocketCommunicator, importable without daphne.

``channels/testing/__init__.py`` also imports its live-server test case, which needs daphne
(not a dependency of this project). The communicator itself does not, so when daphne is
missing the package is registered without running that ``__init__``.
"""

import importlib.util
import sys
import types
from pathlib import Path

if importlib.util.find_spec("daphne") is None and "channels.testing" not in sys.modules:
    import channels

    package = types.ModuleType("channels.testing")
    package.__path__ = [str(Path(channels.__file__).parent / "testing")]
    sys.modules["channels.testing"] = package

from channels.testing.websocket import WebsocketCommunicator  # noqa: E402

# An Origin header that AllowedHostsOriginValidator accepts in tests.
ORIGIN = [(b"origin", b"http://localhost")]

__all__ = ["ORIGIN", "WebsocketCommunicator"]
