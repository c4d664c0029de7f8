"""Test-wide settings: headless Qt by default and a private runtime dir."""

import os
import tempfile

# A platform plugin that fails to load aborts the whole process, so tests
# default to the offscreen platform unless the caller chose one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
if "XDG_RUNTIME_DIR" not in os.environ:
    runtime = tempfile.mkdtemp(prefix="gmm-studio-xdg-")
    os.chmod(runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime
