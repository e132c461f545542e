"""What the command line says on stderr: its diagnostics, written by render.diagnostics."""

from tvselect.render.diagnostics import say, say_error, warn

__all__ = ["say", "say_error", "warn"]
