"""agentd: the Assist agent. Standard library only, so an instance needs nothing but Python."""

__version__ = "0.1.0"
