"""vitrina: recommendations + product search with the MLOps loop built in."""

import os as _os

# pandera sets PYARROW_IGNORE_TIMEZONE=1 when it is unset, at import, and pyarrow then drops the
# tzinfo of Python datetimes it converts: 20:30 in Lima would be stored as 20:30 UTC, silently.
# An empty value keeps pyarrow's correct default and stops pandera from setting it. This is the
# one thing vitrina does at import time, because it must happen before any import of pandera.
_os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "")

__version__ = "0.1.0"
