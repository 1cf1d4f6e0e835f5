"""Reference firmware for the DIY tracker and its host build (see ``host/README.md``)."""
