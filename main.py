"""Start FramePack Desktop: the window, or a headless subcommand (see `python main.py --help`)."""
import sys

from framepack_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
