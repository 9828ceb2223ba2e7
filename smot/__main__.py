import sys

from smot.cli import main

sys.exit(main())
