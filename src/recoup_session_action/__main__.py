import sys

from .entry import console

sys.exit(console())
