"""Tools: typed contracts, allowlists, a process sandbox, and short-lived scoped credentials."""

from keel.tools.credentials import Claims, CredentialBroker, Verifier, averify, set_default_verifier, verify

__all__ = ["Claims", "CredentialBroker", "Verifier", "averify", "set_default_verifier", "verify"]

from keel.tools.sandbox import Sandbox, SandboxLimits, SandboxResult, ToolTarget  # noqa: E402

__all__ += ["Sandbox", "SandboxLimits", "SandboxResult", "ToolTarget"]
