"""tunegate: is prompt engineering enough for your LLM task, or must you fine-tune? Measured."""

__version__ = "0.1.0"
