"""Ultrasound-guided injection simulator: ``python main.py --help``."""

import sys

from simulator.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
