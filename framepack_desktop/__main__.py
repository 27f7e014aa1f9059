import sys

from framepack_desktop.app import main

sys.exit(main())
