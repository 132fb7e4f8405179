"""Framework adapters: the engine inside MCP servers, FastMCP, OpenAI Agents, LangChain and
Pydantic AI.

Each framework has its own module, imported on demand (``agen_policy.integrations.mcp``,
``.fastmcp``, ``.openai_agents``, ``.langchain``, ``.pydantic_ai``) and installed with its
extra (``pip install "agen-policy[mcp]"``...). Importing ``agen_policy`` or this package
imports no framework. What every adapter shares (deciding twice, the memo per tool-call id,
opening approval requests, the decision log) is :class:`PolicyGate`, in :mod:`.common`.
"""

from .common import Outcome, PolicyGate, ToolCall, identity_from_claims

__all__ = ["Outcome", "PolicyGate", "ToolCall", "identity_from_claims"]
