"""The one exception type that reaches the user as a one-line message."""


class KdsuiteError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""
