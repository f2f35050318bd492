"""The model gateway: `ctx.llm` routed to providers over their own wire protocols (see docs/gateway.md)."""

from keel.gateway.config import GatewayConfig, load_config
from keel.gateway.gateway import Gateway
from keel.gateway.providers import AnthropicProvider, OpenAIProvider, ScriptedProvider, build_provider

__all__ = [
    "AnthropicProvider",
    "Gateway",
    "GatewayConfig",
    "OpenAIProvider",
    "ScriptedProvider",
    "build_provider",
    "load_config",
]
