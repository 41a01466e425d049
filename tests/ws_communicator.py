"""channels.testing's WebsocketCommunicator without daphne.

``channels/testing/__init__.py`` imports its live-server test case, which needs daphne (not
a dependency here); the communicator does not, so the package is registered without running
that ``__init__`` when daphne is missing. (tickets/tests/ws.py does the same for its tests.)
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

__all__ = ["WebsocketCommunicator"]
