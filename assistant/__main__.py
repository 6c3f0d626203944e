"""``python -m assistant`` runs the ``rag`` command."""

import sys

from assistant.cli import main

sys.exit(main())
