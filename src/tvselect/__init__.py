"""tvselect: choose the build-torchvision variant that belongs on a machine."""

__version__ = "0.1.0"
