"""``python -m scripts.run`` (``make run``)."""

import sys

from scripts.run.launch import main

sys.exit(main())
