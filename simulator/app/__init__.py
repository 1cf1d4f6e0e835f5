"""The running simulation and its commands: scene + probe + engine, no widgets."""
