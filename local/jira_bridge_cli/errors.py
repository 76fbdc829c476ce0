"""What the CLI prints instead of a traceback, and the exit code that goes with it.

Exit codes (every command; README "Operating it"):

==  ==========================================================================================
0   done
1   the command ran and found a problem (no link, a failed check, approval rejected, messages kept)
2   bad input or configuration (a flag, a file, a secret's content)
3   `approval --wait`: still waiting
4   AWS could not be reached or refused (no region, no credentials, no such stack/table, denied)
5   Jira, the bridge's API or another URL could not be reached (network, TLS, 5xx)
70  a bug: an unexpected error (one line; JIRA_BRIDGE_DEBUG=1 shows the traceback)
==  ==========================================================================================
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from jira_bridge.errors import ConfigurationError

EXIT_CONFIG = 2
EXIT_AWS = 4
EXIT_NETWORK = 5
EXIT_BUG = 70


class Unreachable(ConfigurationError):
    """AWS or a URL could not be reached: the message names what and how to fix it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def aws_guarded(action: Callable[[argparse.Namespace], int],
                what: Callable[[argparse.Namespace], str] = lambda _args: "") -> Callable[[argparse.Namespace], int]:
    """``action`` with AWS failures said in one line naming the stack (exit 4); ``what`` prefixes it."""
    def run(args: argparse.Namespace) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return action(args)
        except (BotoCoreError, ClientError) as error:
            where = "the local stack (is `jira-bridge local start` running?)" if args.local else f"stack {args.stack}"
            raise Unreachable(f"{what(args)}cannot reach {where}: {describe(error)[0]}", EXIT_AWS) from None

    return run


def describe(error: BaseException) -> tuple[str, int]:
    """One line and an exit code for any error a command let through."""
    if isinstance(error, ConfigurationError):
        return str(error), getattr(error, "exit_code", EXIT_CONFIG)
    aws = _aws(error)
    if aws is not None:
        return aws, EXIT_AWS
    network = _network(error)
    if network is not None:
        return network, EXIT_NETWORK
    return (f"unexpected {type(error).__name__}: {error} (a bug: please report it; JIRA_BRIDGE_DEBUG=1 prints "
            "the traceback)"), EXIT_BUG


def _aws(error: BaseException) -> str | None:
    try:
        from botocore import exceptions as boto
    except ImportError:  # pragma: no cover - botocore is a dependency
        return None
    if isinstance(error, boto.NoRegionError):
        return "no AWS region: pass --region REGION or set AWS_REGION (or a region in your AWS profile)"
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        return ("no AWS credentials: pass --profile NAME or set AWS_PROFILE (`aws configure` or "
                "`aws sso login --profile NAME` first)")
    if isinstance(error, boto.ProfileNotFound):
        return f"{error}: pass an existing --profile (see ~/.aws/config)"
    if isinstance(error, boto.TokenRetrievalError | boto.SSOTokenLoadError | boto.UnauthorizedSSOTokenError):
        return f"AWS SSO session expired: run `aws sso login` ({error})"
    if isinstance(error, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return f"cannot reach AWS ({error}): check the network and --region"
    if isinstance(error, boto.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        hint = {
            "ResourceNotFoundException": "check the name, or use --stack NAME to read it from the stack's outputs",
            "ValidationError": "check --stack (and --region: stacks are regional)",
            "AccessDeniedException": "your AWS identity lacks this permission",
            "AccessDenied": "your AWS identity lacks this permission",
            "ExpiredTokenException": "your AWS credentials expired: log in again",
            "UnrecognizedClientException": "the AWS credentials are invalid for this region/account",
        }.get(code, "")
        return f"AWS {code}: {message}" + (f" ({hint})" if hint else "")
    if isinstance(error, boto.BotoCoreError):
        return f"AWS: {error}"
    return None


def _network(error: BaseException) -> str | None:
    import urllib3

    # urllib3: the bridge's own calls (bridge_client, the layer); requests: `jira-bridge local ...`'s clients
    if isinstance(error, urllib3.exceptions.HTTPError) or _is_requests_error(error):
        url = getattr(error, "url", None) or getattr(getattr(error, "request", None), "url", None) or ""
        return f"cannot reach {url or 'the URL'}: {type(error).__name__} (check the URL, the network and TLS)"
    from jira_bridge.jira.errors import JiraError

    if isinstance(error, JiraError):
        return f"Jira: {error}"
    return None


def _is_requests_error(error: BaseException) -> bool:
    """A requests exception, recognised by its module: requests belongs to the [local] extra (the simulator
    and the local stack use it), which a CLI installed for pipelines does not have."""
    return any(cls.__module__.partition(".")[0] == "requests" for cls in type(error).__mro__)
