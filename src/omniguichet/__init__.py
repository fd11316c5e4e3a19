"""omniguichet: an omnichannel relationship platform for a large public service."""

__version__ = "0.1.0"
