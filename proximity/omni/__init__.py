"""The Omni-Prompt: natural language (English and Italian) to confirmed SDK plans (see docs/omni-prompt.md)."""
