"""Errors that mean "the deployment is misconfigured": each says what is wrong and how to fix it."""


class ConfigurationError(Exception):
    """Bad environment, configuration file or connector secret.

    Raised at cold start (or on first use of a connector) with a message an operator can act on;
    handlers and the CLI print it as one line, never as a stack trace.
    """
